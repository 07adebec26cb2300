// What a run leaves for the workflow: outputs, the job summary, and one failure message naming each failed
// host once. Each mode has its own summary; status and preflight also give their findings as a JSON output.
import * as core from '@actions/core';
import { preflightMarkdown, type PreflightOutcome } from './preflight.js';
import type { RolloutResult } from './rollout.js';
import { statusMarkdown, type StatusOutcome } from './status.js';
import { summaryMarkdown, type HostOutcome } from './summary.js';

export async function report(result: RolloutResult, durationMs: number): Promise<void> {
  core.setOutput('duration-seconds', (durationMs / 1000).toFixed(1));
  switch (result.mode) {
    case 'status':
      return reportStatus(result.hosts);
    case 'preflight':
      return reportPreflight(result.hosts);
    default:
      return reportSwitch(result.mode, result.outcomes, result, durationMs);
  }
}

async function reportSwitch(
  mode: 'deploy' | 'rollback',
  outcomes: HostOutcome[],
  result: RolloutResult,
  durationMs: number,
): Promise<void> {
  setOutputs(outcomes);
  await core.summary.addRaw(summaryMarkdown(outcomes, result.steps, durationMs, mode)).write();
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    core.setFailed(failed.map((o) => `${o.host}: ${o.error ?? 'failed'}`).join('\n'));
    for (const o of outcomes.filter((x) => x.rolledBack)) {
      const back = o.rolledBack;
      if (back?.ok)
        core.info(`${o.host}: rolled back to ${back.releaseId ?? '?'} (port ${back.activePort ?? '?'})`);
      else core.error(`${o.host}: could not be rolled back: ${back?.error ?? 'unknown'}`);
    }
    return;
  }
  const done = outcomes.map((o) => `${o.releaseId ?? '?'} to ${o.host} (port ${o.activePort ?? '?'})`);
  core.info(`${mode === 'deploy' ? 'Deployed' : 'Rolled back:'} ${done.join(', ')}`);
}

async function reportStatus(hosts: StatusOutcome[]): Promise<void> {
  core.setOutput('status', JSON.stringify(hosts));
  await core.summary.addRaw(statusMarkdown(hosts)).write();
  const failed = hosts.filter((h) => h.error !== undefined);
  if (failed.length > 0) core.setFailed(failed.map((h) => `${h.host}: ${h.error}`).join('\n'));
}

async function reportPreflight(hosts: PreflightOutcome[]): Promise<void> {
  core.setOutput('preflight', JSON.stringify(hosts));
  await core.summary.addRaw(preflightMarkdown(hosts)).write();
  const problems = hosts.flatMap((h) =>
    h.error !== undefined
      ? [`${h.host}: ${h.error}`]
      : (h.report?.checks ?? [])
          .filter((c) => !c.ok)
          .map((c) => `${h.host}: ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`),
  );
  if (problems.length > 0) core.setFailed(`a deploy would fail:\n${problems.join('\n')}`);
  else
    core.info(
      `preflight passed on ${hosts.map((h) => h.host).join(', ')}: a deploy with these inputs can run`,
    );
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

function setOutputs(outcomes: HostOutcome[]): void {
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
  core.setOutput(
    'hosts',
    JSON.stringify(
      outcomes.map((o) => ({
        host: o.host,
        ok: o.ok,
        releaseId: o.releaseId,
        activePort: o.activePort,
        previousPort: o.previousPort,
        previousRelease: o.previousRelease,
        error: o.error,
        rolledBack: o.rolledBack,
      })),
    ),
  );
}
