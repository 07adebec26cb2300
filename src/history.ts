// The deploy history of a host: JSON lines in remote-dir/history.jsonl, two per run (its start and its end),
// appended atomically by src/commands/history.ts. Read back here: merged per run, and used to choose the
// release a rollback goes back to. A line that cannot be read is skipped, never fatal: the history informs,
// the host's verified state decides.

/** Who started the run, from the runner's environment. */
export interface RunInfo {
  commit?: string;
  ref?: string;
  /** GITHUB_RUN_ID, with the attempt when it is not the first (e.g. 1234.2). */
  run?: string;
  url?: string;
  actor?: string;
  workflow?: string;
}

export type HistoryMode = 'deploy' | 'rollback';

/** How a run ended. `interrupted`: its SSH session died first; the lock's watchdog wrote this. */
export type Result = 'deployed' | 'rolled-back-to' | 'failed' | 'cancelled' | 'interrupted';

export interface StartRecord extends RunInfo {
  v: 1;
  event: 'start';
  id: string;
  mode: HistoryMode;
  /** deploy: the release-id asked for; rollback: the release named (none: the previous good one). */
  release?: string;
  sha256?: string;
  /** Why a rollback runs, when not asked for by a person (a fleet's failed batch). */
  reason?: string;
  started: string;
}

export interface EndRecord {
  v: 1;
  event: 'end';
  id: string;
  ended: string;
  result: Result;
  /** The release the run switched to (or tried to). */
  release?: string;
  port?: number;
  /** What served before the run. */
  previous?: { release?: string; port?: number };
  /** The step that failed. */
  step?: string;
  error?: string;
}

/** One run, its start and end merged. `running`: no end yet (still running, or the record was lost). */
export interface Deployment
  extends Omit<StartRecord, 'v' | 'event'>, Partial<Omit<EndRecord, 'v' | 'event' | 'result' | 'id'>> {
  result: Result | 'running';
}

/** The end record the lock's watchdog appends for a run whose session ended before it wrote its own. */
export const INTERRUPTED_ERROR =
  "the deploy's SSH session ended before it finished (run cancelled, runner lost or connection dropped)";

/** Compact, sortable UTC time to the second: 20261130T121502Z. Release ids and run ids both start with it. */
export function utcStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** A run id unique per host: sortable time and random hex; only [0-9A-Za-z-] (the watchdog prints it as is). */
export function newRunId(now: Date, random: () => number = Math.random): string {
  const stamp = utcStamp(now);
  const hex = Math.floor(random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${stamp}-${hex}`;
}

/** GITHUB_* of the runner; empty ones are left out. */
export function runInfo(env: NodeJS.ProcessEnv): RunInfo {
  const id = env.GITHUB_RUN_ID;
  const attempt = env.GITHUB_RUN_ATTEMPT;
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const info: RunInfo = {
    commit: env.GITHUB_SHA,
    ref: env.GITHUB_REF,
    run: id && attempt && attempt !== '1' ? `${id}.${attempt}` : id,
    url: id && env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${id}` : undefined,
    // An empty GITHUB_TRIGGERING_ACTOR is no actor either.
    // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
    actor: env.GITHUB_TRIGGERING_ACTOR || env.GITHUB_ACTOR,
    workflow: env.GITHUB_WORKFLOW,
  };
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v));
}

/** One JSON line, without the newline; the keys in a fixed order, undefined ones left out. */
export function recordLine(record: StartRecord | EndRecord): string {
  return JSON.stringify(record);
}

function isRecord(value: unknown): value is StartRecord | EndRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return r.v === 1 && typeof r.id === 'string' && (r.event === 'start' || r.event === 'end');
}

/** The runs, oldest first (by their start line's position); lines that are not records are skipped. */
export function parseHistory(text: string): Deployment[] {
  const runs = new Map<string, Deployment>();
  for (const line of text.split('\n')) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isRecord(value)) continue;
    const fields: Record<string, unknown> = { ...value };
    delete fields.v;
    delete fields.event;
    const known = runs.get(value.id);
    if (value.event === 'start' && !known) {
      runs.set(value.id, { ...(fields as Omit<StartRecord, 'v' | 'event'>), result: 'running' });
    } else if (value.event === 'end' && known?.result === 'running') {
      // The first end counts: the run's own, or the watchdog's when the session died before it.
      Object.assign(known, fields);
    }
  }
  return [...runs.values()];
}

/** A release folder on the host, as src/commands/history.ts lists it. */
export interface ReleaseOnHost {
  id: string;
  /** Whether app.jar and its recorded sha256 are there (checked again before a rollback launches it). */
  complete: boolean;
}

export type RollbackChoice = { releaseId: string; why: string } | { error: string };

/**
 * The release a rollback goes back to. Named: it must be on the host, complete, and never have failed to
 * deploy. Else the previous good one: the newest release that went live through a successful run and was not
 * left by a successful rollback since, other than the live one, still complete on the host. A release whose
 * deploy failed is never chosen.
 */
export function chooseRollback(
  runs: readonly Deployment[],
  live: string | undefined,
  onHost: readonly ReleaseOnHost[],
  named?: string,
): RollbackChoice {
  const states = releaseStates(runs);
  const complete = new Set(onHost.filter((r) => r.complete).map((r) => r.id));
  if (named !== undefined) {
    // A fleet converges on one release: a host that serves it already has nothing to do.
    if (named === live) return { releaseId: named, why: 'serving already' };
    if (!onHost.some((r) => r.id === named))
      return { error: `release ${named} is not on the host${listing(onHost)}` };
    if (!complete.has(named))
      return {
        error: `release ${named} on the host has no complete app.jar with its sha256; choose another`,
      };
    if (states.get(named)?.state === 'failed')
      return {
        error: `release ${named} failed when it was deployed (${states.get(named)?.why}); it is never rolled back to`,
      };
    return { releaseId: named, why: 'named by release-id' };
  }
  if (runs.length === 0) {
    return {
      error: `the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id${listing(onHost)}`,
    };
  }
  const candidates = [...states.entries()]
    .filter(([id, s]) => s.state === 'good' && id !== live && complete.has(id))
    .sort((a, b) => b[1].order - a[1].order);
  if (candidates.length === 0) {
    return {
      error: `no earlier good release to roll back to (live: ${live ?? 'none'}): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id${listing(onHost)}`,
    };
  }
  const [id, s] = candidates[0];
  return { releaseId: id, why: s.why };
}

function listing(onHost: readonly ReleaseOnHost[]): string {
  return onHost.length === 0
    ? ' (it has none)'
    : ` (releases on the host: ${onHost.map((r) => r.id).join(', ')})`;
}

interface ReleaseState {
  state: 'good' | 'failed' | 'left';
  /** When it last went live: the index of that run. */
  order: number;
  why: string;
}

/** Each release's standing after replaying the runs in order. */
function releaseStates(runs: readonly Deployment[]): Map<string, ReleaseState> {
  const states = new Map<string, ReleaseState>();
  runs.forEach((run, order) => {
    const release = run.release;
    if (release === undefined) return;
    const when = run.ended ?? run.started;
    if (run.result === 'deployed' || run.result === 'rolled-back-to') {
      states.set(release, {
        state: 'good',
        order,
        why: `${run.result === 'deployed' ? 'deployed' : 'rolled back to'} ${when}`,
      });
      const left = run.previous?.release;
      if (run.mode === 'rollback' && left !== undefined && left !== release) {
        states.set(left, {
          state: 'left',
          order: states.get(left)?.order ?? -1,
          why: `rolled back from ${when}`,
        });
      }
    } else if (run.mode === 'deploy' && run.result !== 'running' && states.get(release) === undefined) {
      states.set(release, {
        state: 'failed',
        order,
        why: `${run.result}${run.step ? ` at ${run.step}` : ''} ${when}`,
      });
    }
  });
  return states;
}
