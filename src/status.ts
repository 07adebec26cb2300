// mode: status. Changes nothing: per host, which release runs on which port and since when, supervised or not,
// its health, what nginx routes to, whether a deploy holds the lock, and the last deploys. One read-only remote
// script (src/commands/status.ts), then an HTTP GET of each listening port's health path; what cannot be read
// or recognised is reported as such, never thrown.
import type { PortState } from './commands/detect.js';
import { readStatus, type LockRead, type StatusRead, type UnitRead } from './commands/status.js';
import { isHealthy } from './health.js';
import { parseHistory, type Deployment } from './history.js';
import { defaultUpstreamFile } from './nginx-upstream.js';
import { healthUrl } from './per-port.js';
import { nginxStatus, type NginxStatus } from './status-nginx.js';
import type { HostContext } from './steps/context.js';

export { statusMarkdown } from './status-markdown.js';
export type { NginxStatus } from './status-nginx.js';

/** The newest runs of the history shown per host. */
export const LAST_DEPLOYS = 10;

/** A process, and when it started (ISO 8601, whole seconds, UTC). */
interface Proc {
  pid: number;
  since: string;
}

export interface PortStatus {
  port: number;
  color: 'blue' | 'green';
  listening: boolean;
  /** The process this action started here (our pid file, same start time), and the release it runs. */
  app?: Proc & { release: string };
  /** Whoever listens here when it is not ours; its pid and command only when the deploy user may see them. */
  foreign?: Partial<Proc> & { command?: string };
  /** With a supervisor: the unit instance of this port as systemd reports it. */
  unit?: { name: string; scope: 'system' | 'user' } & (
    { active: string; enabled: string; mainPid?: number } | { error: string }
  );
  /** A listening port's answer to the health path (none: nothing listens, nothing was asked). */
  health?: { url: string; state: 'healthy' | 'unhealthy' | 'no answer'; answer: string };
  /** nginx sends all traffic here (primary), or what the primary refuses (backup: a deploy's bake window). */
  routed?: 'primary' | 'backup';
}

export interface LockStatus {
  held: boolean;
  /** Who holds it, as that deploy recorded it (run, actor, since when). */
  holder?: string;
  /** Why it could not be told (held or not is then unknown; `held` is false). */
  problem?: string;
}

/** One run of the history, newest first. */
export interface DeployStatus {
  id: string;
  mode: string;
  release?: string;
  port?: number;
  result: Deployment['result'];
  /** deployed / rolled back to R / failed at STEP / cancelled / interrupted / running / no end recorded */
  outcome: string;
  actor?: string;
  commit?: string;
  url?: string;
  started: string;
  ended?: string;
  error?: string;
}

export interface HostStatus {
  /** Blue, then green. */
  ports: PortStatus[];
  nginx: NginxStatus;
  lock: LockStatus;
  /** How many release folders the host has. */
  releases: number;
  deploys: DeployStatus[];
  /** What could not be read, said plainly. */
  notes: string[];
}

export interface StatusOutcome {
  host: string;
  status?: HostStatus;
  /** Why the host could not be read (e.g. the connection failed). */
  error?: string;
}

export async function hostStatus(ctx: HostContext): Promise<HostStatus> {
  const s = ctx.settings;
  const files = {
    include: s.nginxInclude,
    upstream: s.nginxUpstreamFile ?? defaultUpstreamFile(s.nginxInclude),
  };
  const ports = [s.bluePort, s.greenPort] as const;
  const spec = { files, ports, supervisor: s.supervisor, serviceName: s.serviceName };
  const read = await ctx.steps.run('Read status', async (detail) => {
    const r = await ctx.host.run(readStatus(ctx.paths, spec));
    detail(`${r.detection.releases} releases, lock ${r.lock.state}`);
    return r;
  });
  const notes: string[] = [];
  const nginx = nginxStatus(read.detection, files, ports, notes);
  const lock = lockStatus(read.lock);
  const rows = ports.map((port, i) =>
    portStatus(read, port, i === 0 ? 'blue' : 'green', nginx, s.supervisor),
  );
  await ctx.steps.run('Health', async (detail) => {
    for (const row of rows) if (row.listening) row.health = await probe(ctx, row.port);
    detail(rows.map((r) => `${r.port}: ${r.health?.state ?? 'nothing listens'}`).join(', '));
  });
  return {
    ports: rows,
    nginx,
    lock,
    releases: read.detection.releases,
    deploys: deploys(read, lock, notes),
    notes,
  };
}

/** Start ticks since boot as a wall time. */
export function since(read: Pick<StatusRead, 'bootTime' | 'ticksPerSecond'>, ticks: string): string {
  const ms = (read.bootTime + Number(ticks) / read.ticksPerSecond) * 1000;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function portStatus(
  read: StatusRead,
  port: number,
  color: PortStatus['color'],
  nginx: NginxStatus,
  supervisor: string,
): PortStatus {
  const state: PortState = read.detection.ports.get(port) ?? { port, listening: false };
  const row: PortStatus = { port, color, listening: state.listening };
  if (state.ours) {
    const { pid, start, release } = state.ours;
    row.app = { pid, since: since(read, start), release };
  } else if (state.listening) {
    const l = state.listener;
    row.foreign = l ? { pid: l.pid, since: since(read, l.start), command: l.command } : {};
  }
  const unit = read.units.get(port);
  if (unit) row.unit = unitStatus(unit, supervisor === 'systemd' ? 'system' : 'user');
  if (nginx.port === port) row.routed = 'primary';
  else if (nginx.backup === port) row.routed = 'backup';
  return row;
}

function unitStatus(u: UnitRead, scope: 'system' | 'user'): NonNullable<PortStatus['unit']> {
  if ('error' in u) return { name: u.unit, scope, error: u.error };
  const enabled = u.loadState === 'not-found' ? 'no unit file' : u.unitFileState || 'unknown';
  return {
    name: u.unit,
    scope,
    active: u.activeState,
    enabled,
    ...(u.mainPid ? { mainPid: u.mainPid } : {}),
  };
}

function lockStatus(l: LockRead): LockStatus {
  // An empty info file: the holder took the lock an instant ago and has not written it yet.
  if (l.state === 'held') return { held: true, ...(l.holder ? { holder: l.holder } : {}) };
  if (l.state === 'unknown') return { held: false, problem: l.why };
  return { held: false };
}

const ANSWER_CHARS = 120;

async function probe(ctx: HostContext, port: number): Promise<NonNullable<PortStatus['health']>> {
  const { healthProbeTimeoutMs, healthExpect } = ctx.settings;
  const url = healthUrl(ctx.settings, port);
  try {
    const r = await ctx.host.httpGet(url, healthProbeTimeoutMs);
    const body = r.body.replace(/\s+/g, ' ').trim();
    const answer = `HTTP ${r.status}${body ? ` ${body.slice(0, ANSWER_CHARS)}` : ''}`;
    return { url, state: isHealthy(r, healthExpect) ? 'healthy' : 'unhealthy', answer };
  } catch (error) {
    return { url, state: 'no answer', answer: (error as Error).message.split('\n')[0] };
  }
}

function deploys(read: StatusRead, lock: LockStatus, notes: string[]): DeployStatus[] {
  if ('error' in read.history) {
    notes.push(read.history.error);
    return [];
  }
  return parseHistory(read.history.text)
    .slice(-LAST_DEPLOYS)
    .reverse()
    .map((run, i) => deployStatus(run, lock.held && i === 0));
}

function outcome(run: Deployment, newestWhileLocked: boolean): string {
  switch (run.result) {
    case 'rolled-back-to':
      return `rolled back to ${run.release ?? '?'}`;
    case 'failed':
      return run.step ? `failed at ${run.step}` : 'failed';
    case 'running':
      // Every run holds the lock while it runs, and a dead session's watchdog ends its record: only the newest
      // run, while the lock is held, can still be running.
      return newestWhileLocked ? 'running' : 'no end recorded';
    default:
      return run.result;
  }
}

function deployStatus(run: Deployment, newestWhileLocked: boolean): DeployStatus {
  const d: DeployStatus = {
    id: run.id,
    mode: run.mode,
    release: run.release,
    port: run.port,
    result: run.result,
    outcome: outcome(run, newestWhileLocked),
    actor: run.actor,
    commit: run.commit?.slice(0, 7),
    url: run.url,
    started: run.started,
    ended: run.ended,
    error: run.error,
  };
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as DeployStatus;
}
