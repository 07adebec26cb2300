// Several hosts behind a load balancer: deploy them batch by batch; a failed batch stops the rollout, so the
// hosts not yet reached keep the old version.
import { deployHost } from './deploy.js';
import type { HostTarget, Settings } from './inputs.js';
import { prefixedLog, type Log } from './log.js';
import type { Executor } from './remote.js';
import { hostContext, type HostState } from './steps/context.js';
import { StepRunner, type StepRecord } from './steps/runner.js';
import type { HostOutcome } from './summary.js';

/** An open connection to one host: the executor the steps use, and how to close it. */
export interface HostSession {
  host: Executor;
  close(): Promise<void>;
}

export type Connector = (target: HostTarget, log: Log) => Promise<HostSession>;

export interface RolloutResult {
  outcomes: HostOutcome[];
  steps: StepRecord[];
}

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
  signal?: AbortSignal;
}

export async function rollout(o: RolloutOptions): Promise<RolloutResult> {
  const outcomes: HostOutcome[] = [];
  const runners: StepRunner[] = [];
  let failed = false;
  for (const batch of batches(o.settings.targets, o.settings.batchSize)) {
    if (failed || o.signal?.aborted) {
      outcomes.push(...batch.map((t) => ({ host: hostLabel(t), ok: false, error: 'not attempted' })));
      continue;
    }
    const results = await Promise.all(
      batch.map((target) => {
        const host = hostLabel(target);
        // With several hosts (parallel ones cannot share collapsible groups) every line carries its host.
        const log = o.settings.targets.length > 1 ? prefixedLog(o.log, host) : o.log;
        const steps = new StepRunner(host, log);
        runners.push(steps);
        return deployOne(o, target, steps, log);
      }),
    );
    outcomes.push(...results);
    failed = results.some((r) => !r.ok);
  }
  return { outcomes, steps: runners.flatMap((r) => r.records) };
}

async function deployOne(
  o: RolloutOptions,
  target: HostTarget,
  steps: StepRunner,
  log: Log,
): Promise<HostOutcome> {
  const host = hostLabel(target);
  let session: HostSession | undefined;
  let state: HostState = {};
  try {
    const connected = await steps.run('Connect', () => o.connect(target, log));
    session = connected;
    const ctx = hostContext({ ...o, host: connected.host, steps, log });
    state = ctx.state;
    const result = await deployHost(ctx);
    return {
      host,
      ok: true,
      releaseId: result.releaseId,
      activePort: result.activePort,
      previousPort: result.previousPort,
    };
  } catch (error) {
    const { releaseId, servingPort, previousPort } = state;
    return {
      host,
      ok: false,
      releaseId,
      activePort: servingPort,
      previousPort,
      error: (error as Error).message,
    };
  } finally {
    await session?.close().catch(() => undefined);
  }
}
