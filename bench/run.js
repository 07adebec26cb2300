// Benchmark: the action vs the hand-written script it replaces (bench/handwritten-deploy.sh),
// both deploying v2 over a running v1 on a fresh loopback target while a load runs through nginx.
// Prints figures and writes them to .test-output/bench.json; asserts nothing.
//
//   node bench/run.js            (as root, after scripts/install-deps.sh)
//   BENCH_RUNS=N                 runs per mode (default 3)
//   BENCH_MODES=action           only these modes (comma separated; default script,action)
//   BENCH_EXTRAS=0               skip the upload and cold-start figures
//
// Per mode and run: fresh target, v1 deployed by the action (untimed), load started
// (20 workers, every 2nd request /slow?ms=200), v2 deployed (timed), 1 s wait, load stopped.
// Start-up = what the new app logs as `Started DemoApp in <ms> ms`; overhead = wall - start-up.
// Also: upload throughput of a ~100 MB jar (action vs scp), cold start of the bundle, node version.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTarget } from '../test-target/harness.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { node24, runAction, startAction, targetInputs } from '../test-target/run-action.js';
import { startLoad, waitForVersion } from '../test-target/load.js';

const execFileAsync = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, '.test-output');
const WORK = path.join(OUT, 'bench');
const LOGS = path.join(WORK, 'logs');
const SCRIPT = path.join(REPO, 'bench', 'handwritten-deploy.sh');

const RUNS = Math.max(1, Number.parseInt(process.env.BENCH_RUNS ?? '3', 10) || 3);
const MODES = /** @type {('script' | 'action')[]} */ (
  (process.env.BENCH_MODES ?? 'script,action')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m === 'script' || m === 'action')
);
const EXTRAS = process.env.BENCH_EXTRAS !== '0';
const UPLOAD_RUNS = 3;
const COLD_START_RUNS = 5;
const BIG_MB = 100;
const START_DELAY_MS = 3000;
const LOAD = { concurrency: 20, slowEvery: 2, slowMs: 200, maxDurationMs: 120_000, maxRequests: 200_000 };

// ---------------------------------------------------------------------------------------------
// helpers

/** @param {number[]} xs */
function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * @param {unknown} v
 * @param {number} [digits]
 */
function fmt(v, digits = 0) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/**
 * @param {string[]} head
 * @param {unknown[][]} rows
 */
function table(head, rows) {
  const cells = [head, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r, j) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** ssh/scp options for a harness target (same strict settings as harness.ssh()). @param {any} t */
function sshOpts(t) {
  return t.sshClientOptions();
}

/**
 * Runs a program; records every output line with its arrival time (ms since the spawn).
 * @param {string} file
 * @param {string[]} args
 * @param {{ timeoutMs?: number, onSpawn?: (t0: number) => void }} [opts]
 * @returns {Promise<{ code: number | null, durationMs: number, startedAt: number, lines: { ms: number, text: string }[], output: string }>}
 */
function runTimed(file, args, opts = {}) {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    /** @type {{ ms: number, text: string }[]} */
    const lines = [];
    let output = '';
    /** @param {import('node:stream').Readable} stream */
    const collect = (stream) => {
      let rest = '';
      stream.on('data', (d) => {
        const ms = performance.now() - t0;
        output += d;
        const parts = (rest + d).split('\n');
        rest = parts.pop() ?? '';
        for (const text of parts) lines.push({ ms, text });
      });
      stream.on('end', () => {
        if (rest) lines.push({ ms: performance.now() - t0, text: rest });
      });
    };
    collect(/** @type {import('node:stream').Readable} */ (child.stdout));
    collect(/** @type {import('node:stream').Readable} */ (child.stderr));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      output += String(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, durationMs: performance.now() - t0, startedAt, lines, output });
    });
  });
}

/**
 * The action, with every output line stamped with its arrival time (ms since the spawn).
 * @param {Record<string, string>} inputs
 */
async function runActionTimed(inputs) {
  const startedAt = Date.now();
  const t0 = performance.now();
  const { child, done } = startAction({ inputs });
  /** @type {{ ms: number, text: string }[]} */
  const lines = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (d) => {
      const ms = performance.now() - t0;
      const parts = (rest + d).split('\n');
      rest = parts.pop() ?? '';
      for (const text of parts)
        if (!text.startsWith('::debug::') && !text.startsWith('::add-mask::')) lines.push({ ms, text });
    });
  }
  const result = await done;
  return { ...result, startedAt, lines };
}

/**
 * Steps out of a timed log: the action's `::group::NAME` ... `NAME: ok in X s`, or the script's `> ...` lines.
 * @param {{ ms: number, text: string }[]} lines
 * @param {'action' | 'script'} mode
 * @param {number} totalMs
 */
function stepsOf(lines, mode, totalMs) {
  /** @type {{ name: string, startMs: number, endMs: number }[]} */
  const steps = [];
  for (const { ms, text } of lines) {
    const name = mode === 'action' ? /^::group::(.*)$/.exec(text)?.[1] : /^> (.*)$/.exec(text)?.[1];
    if (name === undefined) continue;
    if (steps.length) steps[steps.length - 1].endMs = ms;
    steps.push({ name, startMs: ms, endMs: totalMs });
  }
  return steps.map((s) => ({ ...s, startMs: Math.round(s.startMs), endMs: Math.round(s.endMs) }));
}

/**
 * Places each load failure on the deploy's timeline.
 * @param {import('../test-target/load.js').LoadReport} report
 * @param {number} deployStartedAt Date.now() at the deploy's spawn
 * @param {number} deployMs
 * @param {{ name: string, startMs: number, endMs: number }[]} steps
 */
function placeFailures(report, deployStartedAt, deployMs, steps) {
  return report.failures.map((f) => {
    const atMs = report.startedAt + f.atMs - deployStartedAt;
    const sentMs = report.startedAt + (f.sentMs ?? f.atMs) - deployStartedAt;
    const step = steps.find((s) => atMs >= s.startMs && atMs < s.endMs);
    const where =
      atMs < 0
        ? 'before the deploy'
        : atMs >= deployMs
          ? `after the deploy (+${Math.round(atMs - deployMs)} ms)`
          : step
            ? `during "${step.name}" (+${Math.round(atMs - step.startMs)} ms into it)`
            : 'during the deploy';
    return { ...f, deployMs: Math.round(atMs), sentDeployMs: Math.round(sentMs), where };
  });
}

/** @param {string} text */
function startupMs(text) {
  const m = /Started DemoApp in (\d+) ms/.exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * @param {string} name
 * @param {string} text
 */
function saveLog(name, text) {
  writeFileSync(path.join(LOGS, name), text);
}

// ---------------------------------------------------------------------------------------------
// the deploy under load

/**
 * @param {'action' | 'script'} mode
 * @param {number} run
 * @param {{ v1: string, v2: string }} jars
 */
async function deployUnderLoad(mode, run, jars) {
  const t = await startTarget(mode === 'script' ? { user: 'root' } : {});
  /** @type {ReturnType<typeof startLoad> | null} */
  let load = null;
  try {
    const first = await runAction({ inputs: targetInputs(t, { jar: jars.v1 }) });
    if (first.code !== 0) throw new Error(`v1 deploy failed:\n${first.log.slice(-3000)}`);

    const appDir = `${t.remoteDir}/handwritten`;
    if (mode === 'script') {
      // untimed: ship the script and the jar, as a CI job would before running the script
      const mk = await t.ssh(`mkdir -p ${appDir}`);
      if (mk.code !== 0) throw new Error(`mkdir failed: ${mk.stderr}`);
      const cp = await runTimed('scp', [
        ...sshOpts(t),
        '-P',
        String(t.sshPort),
        '-q',
        SCRIPT,
        jars.v2,
        `${t.username}@${t.host}:${appDir}/`,
      ]);
      if (cp.code !== 0) throw new Error(`scp failed: ${cp.output}`);
    }

    load = startLoad({ url: t.nginxUrl, ...LOAD });
    await waitForVersion(load, 'v1', 10_000);
    await sleep(1000); // steady state before the deploy

    let deploy;
    let log;
    let appLogPath;
    if (mode === 'action') {
      const r = await runActionTimed(targetInputs(t, { jar: jars.v2 }));
      deploy = { code: r.code, durationMs: r.durationMs, startedAt: r.startedAt, lines: r.lines };
      log = r.log;
      appLogPath = `${t.remoteDir}/releases/${r.outputs['release-id']}/app.log`;
    } else {
      const env = [
        `JAR=${appDir}/${path.basename(jars.v2)}`,
        `BLUE_PORT=${t.bluePort}`,
        `GREEN_PORT=${t.greenPort}`,
        `INCLUDE=${t.nginxInclude}`,
        `NGINX_CONF=${t.nginxConfig}`,
        `APP_DIR=${appDir}`,
      ];
      const r = await runTimed('ssh', [
        ...sshOpts(t),
        '-p',
        String(t.sshPort),
        `${t.username}@${t.host}`,
        `${env.join(' ')} bash ${appDir}/${path.basename(SCRIPT)}`,
      ]);
      deploy = { code: r.code, durationMs: r.durationMs, startedAt: r.startedAt, lines: r.lines };
      log = r.output;
      appLogPath = `${appDir}/app.log`;
    }
    await sleep(1000);
    const report = await load.stop();
    load = null;

    const appLog = await t.ssh(`cat ${appLogPath}`);
    const startup = startupMs(appLog.stdout);
    const steps = stepsOf(deploy.lines, mode, deploy.durationMs);
    const failures = placeFailures(report, deploy.startedAt, deploy.durationMs, steps);
    const serving = await t.get('/');
    saveLog(`${mode}-run${run}.log`, log);
    saveLog(`${mode}-run${run}-app.log`, appLog.stdout);
    return {
      mode,
      run,
      deployExit: deploy.code,
      wallMs: Math.round(deploy.durationMs),
      startupMs: startup,
      overheadMs: Math.round(deploy.durationMs - startup),
      total: report.total,
      failed: report.failed,
      failedOnReusedConnection: report.failedOnReusedConnection,
      retriedOnReusedConnection: report.retriedOnReusedConnection,
      byStatus: report.byStatus,
      errors: report.errors,
      versions: report.versions,
      servingAfter: serving.body.trim(),
      steps,
      failures,
      timeline: deploy.lines.map((l) => `+${Math.round(l.ms)} ms ${l.text}`),
    };
  } finally {
    if (load) await load.stop();
    await t.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// upload throughput

/** A copy of the demo jar with an extra ~100 MB stored (incompressible) entry. */
async function bigJar() {
  const jar = path.join(WORK, `demo-big-${BIG_MB}mb.jar`);
  if (existsSync(jar)) return jar;
  const base = await buildDemoJar({ version: 'big' });
  const tmp = await fsp.mkdtemp(path.join(WORK, 'big-'));
  try {
    const blob = path.join(tmp, 'blob.bin');
    const fh = await fsp.open(blob, 'w');
    for (let i = 0; i < BIG_MB; i++) await fh.write(randomBytes(1_000_000));
    await fh.close();
    const part = `${jar}.part`;
    await fsp.copyFile(base, part);
    await execFileAsync('jar', ['--update', '--no-compress', '--file', part, '-C', tmp, 'blob.bin']);
    await fsp.rename(part, jar);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return jar;
}

async function uploadBench() {
  const jar = await bigJar();
  const bytes = (await fsp.stat(jar)).size;
  const runs = [];
  for (let i = 1; i <= UPLOAD_RUNS; i++) {
    const t = await startTarget();
    try {
      const r = await runAction({ inputs: targetInputs(t, { jar }) });
      saveLog(`upload-run${i}.log`, r.log);
      const m = /([\d.]+) MB in ([\d.]+) s \(([\d.]+) MB\/s\)/.exec(r.log);
      const handshake = await runTimed('ssh', [
        ...sshOpts(t),
        '-p',
        String(t.sshPort),
        `${t.username}@${t.host}`,
        'true',
      ]);
      const scp = await runTimed('scp', [
        ...sshOpts(t),
        '-P',
        String(t.sshPort),
        '-q',
        jar,
        `${t.username}@${t.host}:${t.remoteDir}/scp-copy.jar`,
      ]);
      if (scp.code !== 0) throw new Error(`scp failed: ${scp.output}`);
      const mb = bytes / 1e6;
      runs.push({
        actionExit: r.code,
        actionMBps: m ? Number(m[3]) : NaN,
        actionUploadS: m ? Number(m[2]) : NaN,
        scpWallMs: Math.round(scp.durationMs),
        scpMBps: mb / (scp.durationMs / 1000),
        sshTrueMs: Math.round(handshake.durationMs),
        scpMBpsLessHandshake: mb / (Math.max(1, scp.durationMs - handshake.durationMs) / 1000),
      });
    } finally {
      await t.stop();
    }
  }
  return {
    bytes,
    mb: bytes / 1e6,
    runs,
    actionMBps: median(runs.map((r) => r.actionMBps)),
    scpMBps: median(runs.map((r) => r.scpMBps)),
    scpMBpsLessHandshake: median(runs.map((r) => r.scpMBpsLessHandshake)),
  };
}

// ---------------------------------------------------------------------------------------------
// cold start: spawn of dist/index.js -> first TCP connection to the "host"

/** @param {string} jar */
async function coldStartBench(jar) {
  const keyDir = await fsp.mkdtemp(path.join(WORK, 'cold-'));
  const server = net.createServer();
  /** @type {((ms: number) => void) | null} */
  let onConnect = null;
  server.on('connection', (socket) => {
    const ms = performance.now();
    socket.destroy();
    if (onConnect) onConnect(ms);
    onConnect = null;
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  try {
    const key = path.join(keyDir, 'id');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const inputs = {
      host: '127.0.0.1',
      port: String(port),
      username: 'deploy',
      'private-key': readFileSync(key, 'utf8'),
      'known-hosts': `[127.0.0.1]:${port} ${pub}`,
      jar,
      'remote-dir': '/tmp/bgd-bench-cold-start',
      'connect-timeout': '5',
    };
    const samples = [];
    for (let i = 0; i < COLD_START_RUNS; i++) {
      const connected = new Promise((resolve) => {
        onConnect = resolve;
      });
      const t0 = performance.now();
      const { child, done } = startAction({ inputs });
      const timeout = sleep(15_000).then(() => NaN);
      const at = await Promise.race([connected, timeout]);
      samples.push(Number.isFinite(at) ? Math.round(/** @type {number} */ (at) - t0) : NaN);
      onConnect = null;
      const exited = await Promise.race([done.then(() => true), sleep(10_000).then(() => false)]);
      if (!exited) {
        child.kill('SIGKILL');
        await done;
      }
    }
    return { samples, medianMs: median(samples) };
  } finally {
    server.close();
    await fsp.rm(keyDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(LOGS, { recursive: true });
  const began = performance.now();
  const actionNode = (await execFileAsync(node24(), ['--version'])).stdout.trim();
  console.log(`bench: node ${process.version} runs the bench; the action runs on ${node24()} ${actionNode}`);
  console.log(
    `bench: ${RUNS} run(s) per mode, demo jars start in ~${START_DELAY_MS} ms, load ${JSON.stringify(LOAD)}`,
  );

  const jars = {
    v1: await buildDemoJar({ version: 'v1', startDelayMs: START_DELAY_MS }),
    v2: await buildDemoJar({ version: 'v2', startDelayMs: START_DELAY_MS }),
  };

  /** @type {Awaited<ReturnType<typeof deployUnderLoad>>[]} */
  const results = [];
  /** @type {Record<string, Record<string, number>>} */
  const summary = {};
  for (const mode of MODES) {
    const label = mode === 'script' ? 'hand-written script' : 'this action';
    const rows = [];
    for (let run = 1; run <= RUNS; run++) {
      const r = await deployUnderLoad(mode, run, jars);
      results.push(r);
      rows.push(r);
      console.log(
        `\n${label}, run ${run}: exit ${r.deployExit}, ${r.total} requests, ${r.failed} failed ` +
          `(${r.retriedOnReusedConnection} retried after a reset on a reused keep-alive connection) ` +
          `${JSON.stringify(r.byStatus)} ${JSON.stringify(r.errors)}, versions ${JSON.stringify(r.versions)}, ` +
          `nginx now: ${r.servingAfter}`,
      );
      console.log(`  steps: ${r.steps.map((s) => `${s.name} ${s.startMs}-${s.endMs} ms`).join(' | ')}`);
      for (const f of r.failures.slice(0, 20)) {
        console.log(
          `  failure: ${f.status || f.error}${f.reused ? ' (reused connection)' : ''} ${f.path} ` +
            `sent at +${f.sentDeployMs} ms, ` +
            `failed at +${f.deployMs} ms after the deploy started, ${f.where}`,
        );
      }
      if (r.failures.length > 20)
        console.log(`  ... ${r.failures.length - 20} more failures (see bench.json)`);
    }
    console.log(`\n${label}:`);
    console.log(
      table(
        ['run', 'requests', 'failed', 'retried (reused-conn reset)', 'wall ms', 'start-up ms', 'overhead ms'],
        rows.map((r) => [
          r.run,
          r.total,
          r.failed,
          r.retriedOnReusedConnection,
          r.wallMs,
          fmt(r.startupMs),
          fmt(r.overheadMs),
        ]),
      ),
    );
    summary[mode] = {
      requests: median(rows.map((r) => r.total)),
      failed: median(rows.map((r) => r.failed)),
      failedTotal: rows.reduce((a, r) => a + r.failed, 0),
      retriedOnReusedConnectionTotal: rows.reduce((a, r) => a + r.retriedOnReusedConnection, 0),
      wallMs: median(rows.map((r) => r.wallMs)),
      startupMs: median(rows.map((r) => r.startupMs)),
      overheadMs: median(rows.map((r) => r.overheadMs)),
    };
  }

  console.log(`\nsummary (median of ${RUNS}):`);
  console.log(
    table(
      [
        '',
        'requests',
        'failed',
        'failed (all runs)',
        'retried (all runs)',
        'wall ms',
        'start-up ms',
        'overhead ms',
      ],
      Object.entries(summary).map(([mode, s]) => [
        mode === 'script' ? 'hand-written script' : 'this action',
        fmt(s.requests),
        fmt(s.failed),
        s.failedTotal,
        s.retriedOnReusedConnectionTotal,
        fmt(s.wallMs),
        fmt(s.startupMs),
        fmt(s.overheadMs),
      ]),
    ),
  );

  let upload = null;
  let cold = null;
  if (EXTRAS) {
    upload = await uploadBench();
    console.log(`\nupload of a ${fmt(upload.mb, 1)} MB jar (median of ${UPLOAD_RUNS}):`);
    console.log(
      table(
        ['', 'MB/s'],
        [
          ['this action (its Upload step)', fmt(upload.actionMBps, 1)],
          ['OpenSSH scp (wall time)', fmt(upload.scpMBps, 1)],
          ['OpenSSH scp (less one ssh login)', fmt(upload.scpMBpsLessHandshake, 1)],
        ],
      ),
    );
    console.log(`action / scp: ${fmt(upload.actionMBps / upload.scpMBps, 2)}`);

    cold = await coldStartBench(jars.v1);
    console.log(
      `\nbundle cold start (spawn of dist/index.js -> first TCP connection): median ${fmt(cold.medianMs)} ms ` +
        `(${cold.samples.join(', ')} ms)`,
    );
  }

  const totalS = (performance.now() - began) / 1000;
  const json = {
    date: new Date().toISOString(),
    node: { bench: process.version, action: actionNode },
    runsPerMode: RUNS,
    startDelayMs: START_DELAY_MS,
    load: LOAD,
    summary,
    runs: results,
    upload,
    coldStart: cold,
    benchSeconds: Math.round(totalS),
  };
  writeFileSync(path.join(OUT, 'bench.json'), JSON.stringify(json, null, 2) + '\n');
  console.log(
    `\nbench: done in ${fmt(totalS)} s; figures in .test-output/bench.json, logs in .test-output/bench/logs/`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
