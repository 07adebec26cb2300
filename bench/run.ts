// Benchmark: the action vs the hand-written script it replaces (bench/handwritten-deploy.sh), both deploying v2
// over a running v1 on a fresh loopback target while a load runs through nginx. Prints figures and writes them
// to .test-output/bench.json; asserts nothing.
//
//   npm run bench                (as root; runs `npx tsx bench/run.ts` after scripts/prepare.sh)
//   BENCH_RUNS=N                 runs per mode (default 3)
//   BENCH_MODES=action           only these modes (comma separated; default script,action)
//   BENCH_EXTRAS=0               skip the upload and cold-start figures
//
// Start-up = what the new app logs as `Started DemoApp in <ms> ms`; serving = when nginx sends every new
// request to v2 (the end of the switch; the action's bake window and stop come after it); overhead = serving -
// start-up.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { node24 } from '../test-target/run-action.js';
import { deployUnderLoad, LOAD, type BenchRun, type Mode } from './deploy-under-load.js';
import { coldStartBench, uploadBench } from './extras.js';
import { rollbackBench } from './rollback.js';
import { fmt, median, table } from './report.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, '.test-output');
const WORK = path.join(OUT, 'bench');
const LOGS = path.join(WORK, 'logs');
const SCRIPT = path.join(REPO, 'bench', 'handwritten-deploy.sh');

const RUNS = Math.max(1, Number.parseInt(process.env.BENCH_RUNS ?? '3', 10) || 3);
const MODES = (process.env.BENCH_MODES ?? 'script,action')
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is Mode => m === 'script' || m === 'action');
const EXTRAS = process.env.BENCH_EXTRAS !== '0';
const START_DELAY_MS = 3000;

const label = (mode: Mode) => (mode === 'script' ? 'hand-written script' : 'this action');

function printRun(r: BenchRun): void {
  console.log(
    `\n${label(r.mode)}, run ${r.run}: exit ${r.deployExit}, ${r.total} requests, ${r.failed} failed ` +
      `(${r.retriedOnReusedConnection} retried after a reset on a reused keep-alive connection) ` +
      `${JSON.stringify(r.byStatus)} ${JSON.stringify(r.errors)}, versions ${JSON.stringify(r.versions)}, ` +
      `nginx now: ${r.servingAfter}`,
  );
  console.log(`  steps: ${r.steps.map((s) => `${s.name} ${s.startMs}-${s.endMs} ms`).join(' | ')}`);
  for (const f of r.failures.slice(0, 20)) {
    console.log(
      `  failure: ${f.status || f.error}${f.reused ? ' (reused connection)' : ''} ${f.path} ` +
        `sent at +${f.sentDeployMs} ms, failed at +${f.deployMs} ms after the deploy started, ${f.where}`,
    );
  }
  if (r.failures.length > 20) console.log(`  ... ${r.failures.length - 20} more failures (see bench.json)`);
}

function summarize(rows: BenchRun[]) {
  return {
    requests: median(rows.map((r) => r.total)),
    failed: median(rows.map((r) => r.failed)),
    failedTotal: rows.reduce((a, r) => a + r.failed, 0),
    retriedOnReusedConnectionTotal: rows.reduce((a, r) => a + r.retriedOnReusedConnection, 0),
    wallMs: median(rows.map((r) => r.wallMs)),
    servingMs: median(rows.map((r) => r.servingMs)),
    startupMs: median(rows.map((r) => r.startupMs)),
    overheadMs: median(rows.map((r) => r.overheadMs)),
  };
}

async function benchMode(mode: Mode, jars: { v1: string; v2: string }): Promise<BenchRun[]> {
  const rows: BenchRun[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const r = await deployUnderLoad(mode, run, jars, { logs: LOGS, script: SCRIPT });
    rows.push(r);
    printRun(r);
  }
  console.log(`\n${label(mode)}:`);
  const head = [
    'run',
    'requests',
    'failed',
    'retried (reused-conn reset)',
    'wall ms',
    'serving v2 ms',
    'start-up ms',
    'overhead ms',
  ];
  const cells = rows.map((r) => [
    r.run,
    r.total,
    r.failed,
    r.retriedOnReusedConnection,
    r.wallMs,
    fmt(r.servingMs),
    fmt(r.startupMs),
    fmt(r.overheadMs),
  ]);
  console.log(table(head, cells));
  return rows;
}

function printSummary(summary: Partial<Record<Mode, ReturnType<typeof summarize>>>): void {
  console.log(`\nsummary (median of ${RUNS}):`);
  const head = [
    '',
    'requests',
    'failed',
    'failed (all runs)',
    'retried (all runs)',
    'wall ms',
    'serving v2 ms',
    'start-up ms',
  ];
  const rows = Object.entries(summary).map(([mode, s]) => [
    label(mode as Mode),
    fmt(s.requests),
    fmt(s.failed),
    s.failedTotal,
    s.retriedOnReusedConnectionTotal,
    fmt(s.wallMs),
    fmt(s.servingMs),
    fmt(s.startupMs),
    fmt(s.overheadMs),
  ]);
  console.log(table([...head, 'overhead ms'], rows));
}

async function extras(jar: string) {
  const upload = await uploadBench(WORK, LOGS);
  console.log(`\nupload of a ${fmt(upload.mb, 1)} MB jar (median of ${upload.runs.length}):`);
  const rows = [
    ['this action (its Upload step)', fmt(upload.actionMBps, 1)],
    ['OpenSSH scp (wall time)', fmt(upload.scpMBps, 1)],
    ['OpenSSH scp (less one ssh login)', fmt(upload.scpMBpsLessHandshake, 1)],
  ];
  console.log(table(['', 'MB/s'], rows));
  console.log(`action / scp: ${fmt(upload.actionMBps / upload.scpMBps, 2)}`);
  const cold = await coldStartBench(WORK, jar);
  console.log(
    `\nbundle cold start (spawn of dist/index.js -> first TCP connection): median ${fmt(cold.medianMs)} ms ` +
      `(${cold.samples.join(', ')} ms)`,
  );
  const rollback = await rollbackBench(WORK, LOGS);
  console.log(
    `\nback from v2 to v1 (a ${fmt(upload.mb, 1)} MB jar) under load, median of ${rollback.rows.length / 2}:`,
  );
  console.log(
    table(
      ['', 'wall ms', 'failed requests (all runs)'],
      [
        [
          'rebuilt v1, deployed (uploaded)',
          fmt(rollback.redeployMs),
          rollback.rows.filter((r) => r.how === 'redeploy').reduce((a, r) => a + r.failed, 0),
        ],
        [
          'mode: rollback (nothing uploaded)',
          fmt(rollback.rollbackMs),
          rollback.rows.filter((r) => r.how === 'rollback').reduce((a, r) => a + r.failed, 0),
        ],
      ],
    ),
  );
  return { upload, cold, rollback };
}

async function main(): Promise<void> {
  mkdirSync(LOGS, { recursive: true });
  const began = performance.now();
  const actionNode = (await promisify(execFile)(node24(), ['--version'])).stdout.trim();
  console.log(`bench: node ${process.version} runs the bench; the action runs on ${node24()} ${actionNode}`);
  console.log(
    `bench: ${RUNS} run(s) per mode, demo jars start in ~${START_DELAY_MS} ms, load ${JSON.stringify(LOAD)}`,
  );
  const jars = {
    v1: await buildDemoJar({ version: 'v1', startDelayMs: START_DELAY_MS }),
    v2: await buildDemoJar({ version: 'v2', startDelayMs: START_DELAY_MS }),
  };
  const results: BenchRun[] = [];
  const summary: Partial<Record<Mode, ReturnType<typeof summarize>>> = {};
  for (const mode of MODES) {
    const rows = await benchMode(mode, jars);
    results.push(...rows);
    summary[mode] = summarize(rows);
  }
  printSummary(summary);
  const more = EXTRAS ? await extras(jars.v1) : null;

  const totalS = (performance.now() - began) / 1000;
  const json = {
    date: new Date().toISOString(),
    node: { bench: process.version, action: actionNode },
    runsPerMode: RUNS,
    startDelayMs: START_DELAY_MS,
    load: LOAD,
    summary,
    runs: results,
    upload: more?.upload ?? null,
    coldStart: more?.cold ?? null,
    rollback: more?.rollback ?? null,
    benchSeconds: Math.round(totalS),
  };
  writeFileSync(path.join(OUT, 'bench.json'), JSON.stringify(json, null, 2) + '\n');
  console.log(
    `\nbench: done in ${fmt(totalS)} s; figures in .test-output/bench.json, logs in .test-output/bench/logs/`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
