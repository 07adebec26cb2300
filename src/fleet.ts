// rollback-on-failure: when a batch fails, every host this run already switched goes back to the release it
// had, with the same zero-downtime switch as any rollback (nothing uploaded), batch by batch. A host that had
// no release of ours before (its first deploy) has nothing to go back to and is said to stay.
import type { RolloutOptions, Runners } from './rollout.js';
import { batches, hostLabel, switchOne } from './rollout.js';
import type { HostOutcome } from './summary.js';

export async function rollBackSwitched(
  o: RolloutOptions,
  runners: Runners,
  outcomes: HostOutcome[],
): Promise<void> {
  const failed = outcomes.filter((r) => !r.ok && r.error !== 'not attempted').map((r) => r.host);
  const reason = `rollback-on-failure: ${failed.join(', ')} failed`;
  const switched = outcomes.filter((r) => r.ok);
  if (switched.length === 0) return;
  o.log.info(`${reason}; rolling back ${switched.map((r) => r.host).join(', ')}`);
  for (const batch of batches(switched, o.settings.batchSize)) {
    await Promise.all(
      batch.map(async (outcome) => {
        const target = o.settings.targets.find((t) => hostLabel(t) === outcome.host);
        if (!target) return;
        if (outcome.previousRelease === undefined) {
          outcome.rolledBack = {
            ok: false,
            error: 'no earlier release of ours on this host: it stays on the new one',
          };
          return;
        }
        const back = await switchOne(o, runners, target, {
          kind: 'rollback',
          to: outcome.previousRelease,
          reason,
        });
        outcome.rolledBack = back.ok
          ? { ok: true, releaseId: back.releaseId, activePort: back.activePort }
          : { ok: false, releaseId: back.releaseId, activePort: back.activePort, error: back.error };
      }),
    );
  }
}
