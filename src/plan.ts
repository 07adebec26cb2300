// Pure decision from what detection saw: where nginx routes, which port is live, which is idle, what must be
// stopped or refused. State that cannot be read or recognised on a host the action has deployed to is an
// error that names the fix, never a "first deploy".
import type { Detection, PortState } from './commands/detect.js';
import type { UpstreamBlock } from './nginx-block.js';
import { UNDERSTOOD_FORMS, type IncludeTarget } from './nginx-include.js';
import { includeLayout, shownInclude, type IncludeLayout } from './nginx-layout.js';
import { parseUpstream, upstreamName, type UpstreamServers } from './nginx-upstream.js';

export interface ProcessRef {
  pid: number;
  start: string;
}

export interface PortPlan {
  /** The port nginx routes to and where something listens; undefined on a first deploy. */
  live?: number;
  idle: number;
  /** The files that route traffic, as they are now: for the switch, and for a byte-for-byte restore. */
  routing: Routing;
  /** The release our app on the live port runs (from its pid file); undefined when not ours or unknown. */
  liveRelease?: string;
  /** A stale process of ours on the idle port (and its release): stopped before a launch, or reused by a rollback. */
  staleOnIdle?: ProcessRef & { release: string; listening: boolean };
  /** The process serving the live port, to stop after the switch (ours, or the visible listener). */
  oldProcess?: ProcessRef & { ours: boolean; command?: string };
  notes: string[];
}

export interface Routing {
  /**
   * `path`: the file a switch writes, which is where the configured include points when that is a symlink
   * (`link`: the configured path, kept as a link). `target`: its set line; `block`: its own upstream block.
   */
  include: { path: string; link?: string; text?: string; target?: IncludeTarget; block?: UpstreamBlock };
  upstream: { path: string; name: string; text?: string; servers?: UpstreamServers };
}

export interface PlanInput {
  blue: number;
  green: number;
  includePath: string;
  upstreamPath: string;
  /** A bake window keeps the old app as nginx's backup: refused for an upstream block that allows none. */
  bake?: boolean;
}

export class PortConflictError extends Error {}

/** The host's state contradicts itself or cannot be read: nothing is changed until a person looks. */
export class HostStateError extends Error {}

function describe(state: PortState): string {
  return state.listener
    ? `pid ${state.listener.pid} (${state.listener.command || 'unknown command'})`
    : 'a process the deploy user cannot see (owned by another user)';
}

export function planPorts(d: Detection, input: PlanInput): PortPlan {
  const { blue, green } = input;
  const notes: string[] = [];
  const state = (port: number): PortState => d.ports.get(port) ?? { port, listening: false };
  const usable = (port: number) => !state(port).listening || state(port).ours !== undefined;

  const { routing, layout } = readRouting(d, input);
  const routedPort = routedTo(d, routing, layout, notes);
  let live: number | undefined;
  if (routedPort !== undefined && state(routedPort).listening) live = routedPort;
  else if (routedPort !== undefined) {
    notes.push(`nginx routes to port ${routedPort}, where nothing listens: first deploy`);
  }

  let idle: number;
  if (live === blue) idle = green;
  else if (live === green) idle = blue;
  else idle = !usable(blue) && usable(green) ? green : blue;

  const idleState = state(idle);
  if (idleState.listening && !idleState.ours) {
    throw new PortConflictError(
      `idle port ${idle} is held by ${describe(idleState)}, which this action did not start; ` +
        'refusing to touch it. Stop it, or choose other blue-port/green-port values.',
    );
  }

  const plan: PortPlan = { live, idle, routing, notes };
  if (idleState.ours) plan.staleOnIdle = { ...idleState.ours, listening: idleState.listening };
  if (live !== undefined) {
    plan.oldProcess = oldProcess(state(live), notes);
    const release = state(live).ours?.release;
    if (release) plan.liveRelease = release;
  }
  return plan;
}

/** Both files as they are; a file of ours that cannot be read or is not as we wrote it is an error. */
function readRouting(d: Detection, input: PlanInput): { routing: Routing; layout?: IncludeLayout } {
  const name = upstreamName(input.includePath);
  const unreadable = (path: string, shown = path) =>
    new HostStateError(
      `${shown} exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${path}); nothing was changed`,
    );
  const notText = (path: string) =>
    new HostStateError(
      `${path} is not UTF-8 text: the action rewrites it as text and would change its other bytes; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8); nothing was changed`,
    );
  const include = includeFile(d, input.includePath);
  if (d.include.state === 'unreadable') throw unreadable(include.where.path, include.shown);
  if (d.upstream.state === 'unreadable') throw unreadable(input.upstreamPath);
  if (d.include.state === 'notText') throw notText(include.shown);
  if (d.upstream.state === 'notText') throw notText(input.upstreamPath);
  const includeText = d.include.state === 'present' ? d.include.text : undefined;
  const upstreamText = d.upstream.state === 'present' ? d.upstream.text : undefined;
  const servers = upstreamText === undefined ? undefined : parseUpstream(upstreamText, name);
  if (upstreamText !== undefined && !servers) {
    throw new HostStateError(
      `${input.upstreamPath} is not as this action wrote it (upstream ${name}): put it back or remove it; nothing was changed`,
    );
  }
  const layout =
    includeText === undefined
      ? undefined
      : includeLayout(include.shown, includeText, [input.blue, input.green]);
  if (layout?.kind === 'block' && input.bake && layout.block.noBackup) {
    const { name: group, noBackup } = layout.block;
    throw new HostStateError(
      `${include.shown}: upstream ${group} uses ${noBackup}, with which nginx allows no backup server, but the bake window keeps the old version as the backup: set bake-time: 0 (or drop ${noBackup}); nothing was changed`,
    );
  }
  const routing: Routing = {
    include: {
      ...include.where,
      text: includeText,
      ...(layout?.kind === 'set' ? { target: layout.target } : {}),
      ...(layout?.kind === 'block' ? { block: layout.block } : {}),
    },
    upstream: { path: input.upstreamPath, name, text: upstreamText, servers },
  };
  return { routing, layout };
}

/** The file a switch writes: the include, or the file it links to (never a dangling link). */
function includeFile(d: Detection, path: string): { where: { path: string; link?: string }; shown: string } {
  if (d.includeLink === undefined) return { where: { path }, shown: path };
  if (d.includeLink === '' || d.include.state === 'missing') {
    const to = d.includeLink === '' ? 'a path that cannot be resolved' : d.includeLink;
    throw new HostStateError(
      `${path} is a symlink to ${to}, which does not exist: point the link at the include file, or set nginx-include to the file itself; nothing was changed`,
    );
  }
  return { where: { path: d.includeLink, link: path }, shown: shownInclude(d.includeLink, path) };
}

/** The port the files route to; undefined on a host the action never deployed to and no include yet. */
function routedTo(
  d: Detection,
  routing: Routing,
  layout: IncludeLayout | undefined,
  notes: string[],
): number | undefined {
  const { include, upstream } = routing;
  const running = [...d.ports.values()].filter((s) => s.ours).map((s) => `port ${s.port}`);
  const deployed = running.length > 0 || d.releases > 0;
  const evidence =
    running.length > 0 ? `an app of ours runs on ${running.join(' and ')}` : `${d.releases} releases exist`;
  if (include.text === undefined || layout === undefined) {
    if (deployed) {
      throw new HostStateError(
        `${include.path} is missing although this host was deployed to (${evidence}): put the include back, or check nginx-include; nothing was changed`,
      );
    }
    notes.push('the nginx include is missing: this is a first deploy, it will be written');
    return undefined;
  }
  if (layout.kind === 'block') return layout.block.primary.port;
  if (layout.kind === 'set' && layout.target.port !== undefined) return layout.target.port;
  if (layout.kind === 'set' && layout.target.upstream !== undefined) {
    return upstreamPort(layout.target.upstream, upstream);
  }
  if (layout.kind === 'blank' && !deployed) {
    notes.push('the nginx include has no `set $service_url` line yet: it will be written');
    return undefined;
  }
  const problem =
    layout.kind === 'unknown'
      ? layout.problem
      : `cannot recognise where ${shownInclude(include.path, include.link)} routes to; the forms understood are: ${UNDERSTOOD_FORMS}`;
  throw new HostStateError(`${problem}. Nothing was changed`);
}

function upstreamPort(name: string, upstream: Routing['upstream']): number {
  if (name !== upstream.name) {
    throw new HostStateError(
      `the include routes to upstream ${name}, but this include's group is ${upstream.name}; nothing was changed`,
    );
  }
  if (!upstream.servers) {
    throw new HostStateError(
      `the include routes to upstream ${name}, but ${upstream.path} is missing: put it back (or route the include to 127.0.0.1:PORT); nothing was changed`,
    );
  }
  return upstream.servers.primary;
}

function oldProcess(live: PortState, notes: string[]): PortPlan['oldProcess'] {
  if (live.ours) return { pid: live.ours.pid, start: live.ours.start, ours: true };
  if (live.listener) {
    const { pid, start, command } = live.listener;
    notes.push(
      `port ${live.port} is served by pid ${pid} (${command}), not started by this action; it is stopped after the switch`,
    );
    return { pid, start, ours: false, command };
  }
  notes.push(
    `the process on port ${live.port} is not visible to the deploy user; it is left running after the switch`,
  );
  return undefined;
}
