// Figures and timelines for the bench: medians, table printing, and a program or the action run with every
// output line stamped with its arrival time, split into steps.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { LoadFailure, LoadReport } from '../test-target/load.js';
import { startAction, type ActionResult } from '../test-target/run-action.js';

export interface StampedLine {
  /** ms since the spawn */
  ms: number;
  text: string;
}

export interface Step {
  name: string;
  startMs: number;
  endMs: number;
}

export interface TimedRun {
  code: number | null;
  durationMs: number;
  /** Date.now() at the spawn. */
  startedAt: number;
  lines: StampedLine[];
  output: string;
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function fmt(v: unknown, digits = 0): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r, j) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Collects the lines of a stream, each stamped with ms since t0. */
function collect(
  stream: NodeJS.ReadableStream,
  t0: number,
  lines: StampedLine[],
  keep = (_: string) => true,
) {
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const ms = performance.now() - t0;
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) if (keep(text)) lines.push({ ms, text });
  });
  stream.on('end', () => {
    if (rest && keep(rest)) lines.push({ ms: performance.now() - t0, text: rest });
  });
}

/** Runs a program; records every output line with its arrival time (ms since the spawn). */
export function runTimed(file: string, args: string[], timeoutMs = 300_000): Promise<TimedRun> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: StampedLine[] = [];
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (d: Buffer) => (output += d.toString()));
      collect(stream, t0, lines);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (output += String(e)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, durationMs: performance.now() - t0, startedAt, lines, output });
    });
  });
}

/** The action, with every output line (but debug and mask commands) stamped with its arrival time. */
export async function runActionTimed(
  inputs: Record<string, string>,
): Promise<ActionResult & { startedAt: number; lines: StampedLine[] }> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const { child, done } = startAction({ inputs });
  const lines: StampedLine[] = [];
  const keep = (text: string) => !text.startsWith('::debug::') && !text.startsWith('::add-mask::');
  for (const stream of [child.stdout, child.stderr]) collect(stream, t0, lines, keep);
  const result = await done;
  return { ...result, startedAt, lines };
}

/** Steps out of a timed log: the action's `::group::NAME` lines, or the script's `> ...` lines. */
export function stepsOf(lines: StampedLine[], mode: 'action' | 'script', totalMs: number): Step[] {
  const steps: Step[] = [];
  for (const { ms, text } of lines) {
    const name = mode === 'action' ? /^::group::(.*)$/.exec(text)?.[1] : /^> (.*)$/.exec(text)?.[1];
    if (name === undefined) continue;
    if (steps.length) steps[steps.length - 1].endMs = ms;
    steps.push({ name, startMs: ms, endMs: totalMs });
  }
  return steps.map((s) => ({ ...s, startMs: Math.round(s.startMs), endMs: Math.round(s.endMs) }));
}

export interface PlacedFailure extends LoadFailure {
  deployMs: number;
  sentDeployMs: number;
  where: string;
}

/** Places each load failure on the deploy's timeline. */
export function placeFailures(
  report: LoadReport,
  deployStartedAt: number,
  deployMs: number,
  steps: Step[],
): PlacedFailure[] {
  return report.failures.map((f) => {
    const atMs = report.startedAt + f.atMs - deployStartedAt;
    const sentMs = report.startedAt + f.sentMs - deployStartedAt;
    const step = steps.find((s) => atMs >= s.startMs && atMs < s.endMs);
    let where = 'during the deploy';
    if (atMs < 0) where = 'before the deploy';
    else if (atMs >= deployMs) where = `after the deploy (+${Math.round(atMs - deployMs)} ms)`;
    else if (step) where = `during "${step.name}" (+${Math.round(atMs - step.startMs)} ms into it)`;
    return { ...f, deployMs: Math.round(atMs), sentDeployMs: Math.round(sentMs), where };
  });
}
