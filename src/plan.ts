// Pure decision from what detection saw: where nginx routes, which port is live, which is idle, what must be
// stopped or refused. State that cannot be read or recognised on a host the action has deployed to is an
// error that names the fix, never a "first deploy".
import type { Detection, PortState } from './commands/detect.js';
import { isBlank, UNDERSTOOD_FORMS, type IncludeTarget } from './nginx-include.js';

export interface ProcessRef {
  pid: number;
  start: string;
}

export interface PortPlan {
  /** The port nginx routes to and where something listens; undefined on a first deploy. */
  live?: number;
  idle: number;
  /** The include as it is now: its exact text (for a restore) and where its port is (for the switch). */
  include: { text?: string; target?: IncludeTarget };
  /** A stale process of ours on the idle port, to stop gracefully before launching. */
  staleOnIdle?: ProcessRef;
  /** The process serving the live port, to stop after the switch (ours, or the visible listener). */
  oldProcess?: ProcessRef & { ours: boolean; command?: string };
  notes: string[];
}

export class PortConflictError extends Error {}

/** The host's state contradicts itself or cannot be read: nothing is changed until a person looks. */
export class HostStateError extends Error {}

function describe(state: PortState): string {
  return state.listener
    ? `pid ${state.listener.pid} (${state.listener.command || 'unknown command'})`
    : 'a process the deploy user cannot see (owned by another user)';
}

export function planPorts(d: Detection, blue: number, green: number, includePath: string): PortPlan {
  const notes: string[] = [];
  const state = (port: number): PortState => d.ports.get(port) ?? { port, listening: false };
  const usable = (port: number) => !state(port).listening || state(port).ours !== undefined;

  const includePort = routedPort(d, includePath, notes);
  let live: number | undefined;
  if (includePort !== undefined && state(includePort).listening) live = includePort;
  else if (includePort !== undefined) {
    notes.push(`the nginx include points to port ${includePort}, where nothing listens: first deploy`);
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

  const include = { text: d.includeText, target: d.includeTarget };
  const plan: PortPlan = { live, idle, include, notes };
  if (idleState.ours) plan.staleOnIdle = { pid: idleState.ours.pid, start: idleState.ours.start };
  if (live !== undefined) plan.oldProcess = oldProcess(state(live), notes);
  return plan;
}

/** The port the include routes to; undefined on a host the action never deployed to and no include yet. */
function routedPort(d: Detection, path: string, notes: string[]): number | undefined {
  const running = [...d.ports.values()].filter((s) => s.ours).map((s) => `port ${s.port}`);
  const deployed = running.length > 0 || d.releases > 0;
  const evidence =
    running.length > 0 ? `an app of ours runs on ${running.join(' and ')}` : `${d.releases} releases exist`;
  if (d.include === 'unreadable') {
    throw new HostStateError(
      `${path} exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${path}); nothing was changed`,
    );
  }
  if (d.include === 'missing') {
    if (deployed) {
      throw new HostStateError(
        `${path} is missing although this host was deployed to (${evidence}): put the include back, or check nginx-include; nothing was changed`,
      );
    }
    notes.push('the nginx include is missing: this is a first deploy, it will be written');
    return undefined;
  }
  if (d.includeTarget) return d.includeTarget.port;
  if (!deployed && isBlank(d.includeText ?? '')) {
    notes.push('the nginx include has no `set $service_url` line yet: it will be written');
    return undefined;
  }
  throw new HostStateError(
    `cannot recognise where ${path} routes to; the forms understood are: ${UNDERSTOOD_FORMS}. Nothing was changed`,
  );
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
