// Shared by the command-builder tests: a fixed layout, hostile values, and exact script comparisons.
import { spawnSync } from 'node:child_process';
import { layout } from '../../src/layout.js';

export const paths = layout('/srv/app');

/** Every character a shell treats specially, and a command that must never run. */
export const HOSTILE = `my app/$(touch /pwned);\`id\`'"*; rm -rf /`;
export const hostilePaths = layout(`/srv/${HOSTILE}`);

export const SHA = 'ab'.repeat(32);

/**
 * The script with its leading shared-function blocks removed. Asserts that it starts with exactly those
 * blocks (each pinned by functions.test.ts), in that order; the rest is what a builder adds.
 */
export function body(script: string, blocks: readonly string[]): string {
  const head = blocks.map((b) => `${b}\n`).join('');
  expect(script.slice(0, head.length)).toBe(head);
  return script.slice(head.length);
}

/**
 * `base` with each key (one or more whole lines, found exactly once) replaced by its value (one or more whole
 * lines; '' removes them). An option's script is asserted as the default's with exactly these changes.
 */
export function replaced(base: string, changes: Record<string, string>): string {
  const lines = base.split('\n');
  for (const [from, to] of Object.entries(changes)) {
    const block = from.split('\n');
    const at = lines.flatMap((_, i) => (block.every((b, j) => lines[i + j] === b) ? [i] : []));
    if (at.length !== 1)
      throw new Error(`expected these lines once, found them ${at.length} times:\n${from}`);
    lines.splice(at[0], block.length, ...(to === '' ? [] : to.split('\n')));
  }
  return lines.join('\n');
}

/** shellcheck -s sh at warning level; returns its findings ('' when clean). */
export function shellcheck(script: string): string {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'warning', '-'], { input: script, encoding: 'utf8' });
  if (r.error)
    throw new Error(`shellcheck is not installed: run scripts/install-deps.sh (${r.error.message})`);
  return r.status === 0 ? '' : r.stdout;
}

/** sh -n: parses without running. Returns the error text ('' when it parses). */
export function syntaxErrors(script: string): string {
  const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr || `exit ${r.status}`;
}
