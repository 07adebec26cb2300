// Several hosts behind a load balancer: deploy them batch by batch; a failed batch stops the rollout, so the
// hosts not yet reached keep the old version.
import { deployHost } from './deploy.js';
import type { HostTarget, Settings } from './inputs.js';
import { prefixedLog, type Log } from './log.js';
import type { Remote } from './remote.js';
import { StepRunner, type StepRecord } from './steps.js';
import type { HostOutcome } from './summary.js';

export type Connector = (target: HostTarget, log: Log) => Promise<Remote>;

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

export async function rollout(
  settings: Settings,
  connect: Connector,
  log: Log,
  lockHolder: string,
  signal?: AbortSignal,
): Promise<RolloutResult> {
  const outcomes: HostOutcome[] = [];
  const runners: StepRunner[] = [];
  let failed = false;
  for (const batch of batches(settings.targets, settings.batchSize)) {
    if (failed || signal?.aborted) {
      for (const t of batch) {
        outcomes.push({
          host: hostLabel(t),
          ok: false,
          releaseId: settings.releaseId,
          error: 'not attempted',
        });
      }
      continue;
    }
    const parallel = batch.length > 1;
    const results = await Promise.all(
      batch.map(async (target): Promise<HostOutcome> => {
        const host = hostLabel(target);
        const hostLog = parallel || settings.targets.length > 1 ? prefixedLog(log, host) : log;
        const steps = new StepRunner(host, parallel ? prefixedLog(log, host) : hostLog);
        runners.push(steps);
        let remote: Remote | undefined;
        try {
          remote = await steps.run('Connect', () => connect(target, hostLog));
          const r = await deployHost({ settings, remote, steps, log: hostLog, lockHolder, signal });
          return { host, ok: true, ...r };
        } catch (error) {
          return { host, ok: false, releaseId: settings.releaseId, error: (error as Error).message };
        } finally {
          await remote?.close().catch(() => undefined);
        }
      }),
    );
    outcomes.push(...results);
    failed = results.some((r) => !r.ok);
  }
  return { outcomes, steps: runners.flatMap((r) => r.records) };
}
