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
export function startAction(options?: ActionOptions): { child: ChildProcess; done: Promise<ActionResult> };
export function runAction(options?: ActionOptions): Promise<ActionResult>;
export function targetInputs(target: Target, extra?: Record<string, string>): Record<string, string>;
