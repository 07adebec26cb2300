// The job summary: one table of steps, durations and results, and the outcome per host.
import type { StepRecord } from './steps.js';

export interface HostOutcome {
  host: string;
  ok: boolean;
  activePort?: number;
  previousPort?: number;
  releaseId: string;
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

export function summaryMarkdown(outcomes: HostOutcome[], steps: StepRecord[], durationMs: number): string {
  const failed = outcomes.filter((o) => !o.ok);
  const lines = [
    `## Blue/green deploy ${failed.length === 0 ? 'succeeded' : 'failed'} in ${(durationMs / 1000).toFixed(1)} s`,
    '',
    '| Host | Release | Result | Now serving | Previous |',
    '| --- | --- | --- | --- | --- |',
    ...outcomes.map(
      (o) =>
        `| ${cell(o.host)} | ${cell(o.releaseId)} | ${o.ok ? '✅ deployed' : `❌ ${cell(o.error ?? 'failed')}`} | ${o.activePort ?? '–'} | ${o.previousPort ?? '–'} |`,
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
