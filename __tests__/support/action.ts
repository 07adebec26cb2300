// Reading the action's result in the integration suites: success/failure with the log on failure, the
// ::error:: annotations as the runner shows them, the log without the commands the runner consumes.
import { readQuiet } from '../../test-target/exec.js';
import { processAlive } from '../../test-target/processes.js';
import type { ActionResult, TimedLine } from '../../test-target/run-action.js';
import { waitUntil } from '../../test-target/wait.js';

/** The log as the runner shows it: without ::debug:: and ::add-mask:: lines. */
export function readable(r: Pick<ActionResult, 'log'>): string {
  return shown(r.log.split('\n'));
}

/** The same for stdout lines as they arrived. */
export function readableLines(lines: TimedLine[]): string {
  return shown(lines.map((l) => l.text));
}

function shown(lines: string[]): string {
  return lines.filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::')).join('\n');
}

/** Throws with the readable log unless the action exited 0. */
export function expectSuccess(r: ActionResult, what = 'the action'): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${readable(r)}`);
}

/** Throws with the readable log if the action exited 0. */
export function expectFailure(r: ActionResult, what = 'the action'): void {
  if (r.code === 0) throw new Error(`${what} succeeded but should have failed:\n${readable(r)}`);
}

/** The `::error::` annotations, unescaped as the runner shows them. */
export function errors(r: Pick<ActionResult, 'stdout'>): string[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error::'))
    .map((l) => l.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));
}

/** Like expect(r.stdout).toMatch(re) (or not), but a failure shows the readable log. */
export function expectLog(r: ActionResult, re: RegExp, present = true): void {
  if (re.test(r.stdout) !== present) {
    throw new Error(`expected the log ${present ? '' : 'not '}to match ${re}; log:\n${readable(r)}`);
  }
}

/** The pid the Launch step reported (`pid N, log ...`). */
export function launchedPid(lines: TimedLine[]): number {
  const line = lines.find((l) => /^pid \d+, log /.test(l.text));
  if (!line) throw new Error(`no launch line in:\n${readableLines(lines)}`);
  return Number(/^pid (\d+)/.exec(line.text)?.[1]);
}

/**
 * Resolves once the app a deploy launched has started its JVM (the demo app logs `Starting DemoApp` before its
 * start delay); returns its pid. `localPath` maps the log path the action printed to the test's view.
 */
export async function jvmStarted(
  target: { localPath(p: string): string },
  lines: TimedLine[],
): Promise<number> {
  const pid = launchedPid(lines);
  const logLine = lines.find((l) => /^pid \d+, log /.test(l.text))?.text ?? '';
  const log = target.localPath(logLine.replace(/^pid \d+, log /, ''));
  await waitUntil(`pid ${pid} to log its start in ${log}`, () => readQuiet(log).includes('Starting DemoApp'));
  if (!processAlive(pid)) throw new Error(`pid ${pid} is not running:\n${readQuiet(log)}`);
  return pid;
}
