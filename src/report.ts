// What a run leaves for the workflow: outputs, the job summary, and one failure message naming each failed
// host once.
import * as core from '@actions/core';
import type { RolloutResult } from './rollout.js';
import { summaryMarkdown, type HostOutcome } from './summary.js';

export async function report(result: RolloutResult, durationMs: number): Promise<void> {
  setOutputs(result.outcomes, durationMs);
  await core.summary.addRaw(summaryMarkdown(result.outcomes, result.steps, durationMs)).write();
  const failed = result.outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    core.setFailed(failed.map((o) => `${o.host}: ${o.error ?? 'failed'}`).join('\n'));
    return;
  }
  const deployed = result.outcomes.map(
    (o) => `${o.releaseId ?? '?'} to ${o.host} (port ${o.activePort ?? '?'})`,
  );
  core.info(`Deployed ${deployed.join(', ')}`);
}

/** Bad inputs or host keys: nothing was changed on any host. */
export async function reportEarlyFailure(message: string): Promise<void> {
  core.setFailed(message);
  await core.summary
    .addRaw(`## Blue/green deploy failed before any host was changed\n\n`)
    .addCodeBlock(message)
    .write()
    .catch(() => undefined);
}

/** One value when all hosts agree, else one per host, comma separated. */
function uniform(values: readonly (string | number | undefined)[]): string {
  return new Set(values).size === 1 ? String(values[0] ?? '') : values.map((v) => v ?? '').join(',');
}

function setOutputs(outcomes: HostOutcome[], durationMs: number): void {
  const ok = outcomes.filter((o) => o.ok);
  if (ok.length > 0) {
    core.setOutput('active-port', uniform(ok.map((o) => o.activePort)));
    core.setOutput('previous-port', uniform(ok.map((o) => o.previousPort)));
  }
  // Only folders that exist on a host: a host that failed before claiming one has no release.
  const claimed = outcomes.filter((o) => o.releaseId !== undefined);
  if (claimed.length > 0) {
    core.setOutput('release-id', uniform((ok.length > 0 ? ok : claimed).map((o) => o.releaseId)));
  }
  core.setOutput('duration-seconds', (durationMs / 1000).toFixed(1));
  core.setOutput(
    'hosts',
    JSON.stringify(
      outcomes.map((o) => ({
        host: o.host,
        ok: o.ok,
        releaseId: o.releaseId,
        activePort: o.activePort,
        previousPort: o.previousPort,
        error: o.error,
      })),
    ),
  );
}
