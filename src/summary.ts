// The job summary: the outcome per host, then one table of steps, durations and results.
import type { StepRecord } from './steps/runner.js';

export interface HostOutcome {
  host: string;
  ok: boolean;
  /** The release folder this run claimed on the host; undefined when it never got that far. */
  releaseId?: string;
  /** The port nginx routes to now: the new one after a deploy, the old one when a deploy failed before or rolled back. */
  activePort?: number;
  /** The port nginx routed to before this run. */
  previousPort?: number;
  /** The release that served before this run, when known. */
  previousRelease?: string;
  /** What failed (the step and why), without the host. */
  error?: string;
  /** rollback-on-failure: this host was switched, then rolled back because another host failed. */
  rolledBack?: { ok: boolean; releaseId?: string; activePort?: number; error?: string };
}

const ICON: Record<StepRecord['status'], string> = {
  ok: '✅ ok',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** On a failure, say which version serves: the previous one when nginx still (or again) routes to it. */
function serving(o: HostOutcome): string {
  if (o.activePort === undefined) return '–';
  if (o.ok) return String(o.activePort);
  return o.activePort === o.previousPort
    ? `${o.activePort} (previous version)`
    : `${o.activePort} (new version)`;
}

/** The host's result; after a fleet's rollback, where it went back to. */
function result(o: HostOutcome, done: string): string {
  const first = o.ok ? `✅ ${done}` : `❌ ${cell(o.error ?? 'failed')}`;
  const back = o.rolledBack;
  if (!back) return first;
  if (back.ok)
    return `${first}, then ↩️ rolled back to ${cell(back.releaseId ?? '?')} (port ${back.activePort ?? '?'})`;
  return `${first}, then ❌ not rolled back: ${cell(back.error ?? 'failed')}`;
}

function previous(o: HostOutcome): string {
  if (o.previousPort === undefined) return '–';
  return o.previousRelease ? `${o.previousPort} (${cell(o.previousRelease)})` : String(o.previousPort);
}

export function summaryMarkdown(
  outcomes: HostOutcome[],
  steps: StepRecord[],
  durationMs: number,
  mode: 'deploy' | 'rollback' = 'deploy',
): string {
  const failed = outcomes.filter((o) => !o.ok);
  const what = mode === 'deploy' ? 'deploy' : 'rollback';
  const done = mode === 'deploy' ? 'deployed' : 'rolled back';
  const lines = [
    `## Blue/green ${what} ${failed.length === 0 ? 'succeeded' : 'failed'} in ${(durationMs / 1000).toFixed(1)} s`,
    '',
    '| Host | Release | Result | Now serving | Previous |',
    '| --- | --- | --- | --- | --- |',
    ...outcomes.map(
      (o) =>
        `| ${cell(o.host)} | ${cell(o.releaseId ?? '–')} | ${result(o, done)} | ${serving(o)} | ${previous(o)} |`,
    ),
    '',
    '| Host | Step | Result | Duration | Detail |',
    '| --- | --- | --- | --- | --- |',
    ...steps.map(
      (s) =>
        `| ${cell(s.host)} | ${cell(s.name)} | ${ICON[s.status]} | ${(s.durationMs / 1000).toFixed(2)} s | ${cell(s.detail)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
