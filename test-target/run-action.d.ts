import type { ChildProcess } from 'node:child_process';
import type { Target } from './harness.js';

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  log: string;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
}
export interface ActionOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  node?: string;
  debug?: boolean;
}
export function node24(): string;
export function actionDefaults(): Record<string, string>;
export function parseOutputFile(text: string): Record<string, string>;
export interface TimedLine {
  /** Date.now() when the line arrived. */
  at: number;
  text: string;
}
export interface StartedAction {
  child: ChildProcess;
  done: Promise<ActionResult>;
  /** Date.now() at the spawn. */
  started: number;
  /** stdout lines so far, each with its arrival time. */
  lines: TimedLine[];
  /** The first stdout line matching re; rejects after timeoutMs (30 s) or when the action ends first. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<TimedLine>;
}
export function startAction(options?: ActionOptions): StartedAction;
export function runAction(options?: ActionOptions): Promise<ActionResult>;
export function targetInputs(target: Target, extra?: Record<string, string>): Record<string, string>;
