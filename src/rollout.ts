// The run across the hosts. deploy and rollback go batch by batch; a failed batch stops the rollout, so the
// hosts not yet reached keep their version, and (rollback-on-failure) the hosts this run already switched are
// rolled back (src/fleet.ts). status and preflight read every host and change nothing.
import { switchHost, type Operation } from './deploy.js';
import { rollBackSwitched } from './fleet.js';
import type { RunInfo } from './history.js';
import type { HostTarget, Settings } from './inputs.js';
import { prefixedLog, type Log } from './log.js';
import { preflightHost, type PreflightOutcome } from './preflight.js';
import type { Executor } from './remote.js';
import { hostStatus, type StatusOutcome } from './status.js';
import { hostContext, type HostContext, type HostState } from './steps/context.js';
import { StepRunner, type StepRecord } from './steps/runner.js';
import type { HostOutcome } from './summary.js';

/** An open connection to one host: the executor the steps use, and how to close it. */
export interface HostSession {
  host: Executor;
  close(): Promise<void>;
}

export type Connector = (target: HostTarget, log: Log) => Promise<HostSession>;

export type RolloutResult = { steps: StepRecord[] } & (
  | { mode: 'deploy' | 'rollback'; outcomes: HostOutcome[] }
  | { mode: 'status'; hosts: StatusOutcome[] }
  | { mode: 'preflight'; hosts: PreflightOutcome[] }
);

export function hostLabel(t: HostTarget): string {
  return t.port === 22 ? t.host : `${t.host}:${t.port}`;
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface RolloutOptions {
  settings: Settings;
  connect: Connector;
  log: Log;
  lockHolder: string;
  /** Who started the run, for the hosts' history. */
  runInfo?: RunInfo;
  signal?: AbortSignal;
}

/** The steps of every host, in the order the hosts were started. */
export class Runners {
  private readonly all: StepRunner[] = [];
  constructor(private readonly o: RolloutOptions) {}

  /** With several hosts (parallel ones cannot share collapsible groups) every line carries its host. */
  for(target: HostTarget): { steps: StepRunner; log: Log } {
    const host = hostLabel(target);
    const log = this.o.settings.targets.length > 1 ? prefixedLog(this.o.log, host) : this.o.log;
    const steps = new StepRunner(host, log);
    this.all.push(steps);
    return { steps, log };
  }

  get records(): StepRecord[] {
    return this.all.flatMap((r) => r.records);
  }
}

export async function rollout(o: RolloutOptions): Promise<RolloutResult> {
  const runners = new Runners(o);
  const mode = o.settings.mode;
  if (mode === 'status') {
    const hosts = await inspect(o, runners, hostStatus, (host, status) => ({ host, status }));
    return { mode, hosts, steps: runners.records };
  }
  if (mode === 'preflight') {
    const hosts = await inspect(o, runners, preflightHost, (host, report) => ({ host, report }));
    return { mode, hosts, steps: runners.records };
  }
  const op: Operation =
    mode === 'deploy' ? { kind: 'deploy' } : { kind: 'rollback', to: o.settings.releaseId };
  const outcomes: HostOutcome[] = [];
  let failed = false;
  for (const batch of batches(o.settings.targets, o.settings.batchSize)) {
    if (failed || o.signal?.aborted) {
      outcomes.push(...batch.map((t) => ({ host: hostLabel(t), ok: false, error: 'not attempted' })));
      continue;
    }
    const results = await Promise.all(batch.map((target) => switchOne(o, runners, target, op)));
    outcomes.push(...results);
    failed = results.some((r) => !r.ok);
  }
  if (failed && mode === 'deploy' && o.settings.rollbackOnFailure) {
    await rollBackSwitched(o, runners, outcomes);
  }
  return { mode, outcomes, steps: runners.records };
}

/** Connects (the Connect step), runs `fn` on the host, closes. `state` is what the run established. */
export async function onHost<T>(
  o: RolloutOptions,
  runners: Runners,
  target: HostTarget,
  fn: (ctx: HostContext) => Promise<T>,
): Promise<{ value?: T; error?: string; state: HostState }> {
  const { steps, log } = runners.for(target);
  let session: HostSession | undefined;
  let state: HostState = {};
  try {
    session = await steps.run('Connect', () => o.connect(target, log));
    const ctx = hostContext({ ...o, host: session.host, steps, log });
    state = ctx.state;
    return { value: await fn(ctx), state };
  } catch (error) {
    return { error: (error as Error).message, state };
  } finally {
    await session?.close().catch(() => undefined);
  }
}

export async function switchOne(
  o: RolloutOptions,
  runners: Runners,
  target: HostTarget,
  op: Operation,
): Promise<HostOutcome> {
  const host = hostLabel(target);
  const { value, error, state } = await onHost(o, runners, target, (ctx) => switchHost(ctx, op));
  if (value) return { host, ok: true, ...value };
  const { releaseId, servingPort, previousPort, previousRelease } = state;
  return { host, ok: false, releaseId, activePort: servingPort, previousPort, previousRelease, error };
}

/** Every host at once: reading changes nothing, so there is nothing to stage. */
async function inspect<T, R>(
  o: RolloutOptions,
  runners: Runners,
  fn: (ctx: HostContext) => Promise<T>,
  wrap: (host: string, value: T) => R,
): Promise<(R | { host: string; error: string })[]> {
  return Promise.all(
    o.settings.targets.map(async (target) => {
      const { value, error } = await onHost(o, runners, target, fn);
      return value !== undefined
        ? wrap(hostLabel(target), value)
        : { host: hostLabel(target), error: error ?? '' };
    }),
  );
}
