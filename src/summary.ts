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
  /** What failed (the step and why), without the host. */
  error?: string;
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

export function summaryMarkdown(outcomes: HostOutcome[], steps: StepRecord[], durationMs: number): string {
  const failed = outcomes.filter((o) => !o.ok);
  const lines = [
    `## Blue/green deploy ${failed.length === 0 ? 'succeeded' : 'failed'} in ${(durationMs / 1000).toFixed(1)} s`,
    '',
    '| Host | Release | Result | Now serving | Previous |',
    '| --- | --- | --- | --- | --- |',
    ...outcomes.map(
      (o) =>
        `| ${cell(o.host)} | ${cell(o.releaseId ?? '–')} | ${o.ok ? '✅ deployed' : `❌ ${cell(o.error ?? 'failed')}`} | ${serving(o)} | ${o.previousPort ?? '–'} |`,
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
