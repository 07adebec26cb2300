// One bench run: a fresh target, v1 deployed by the action (untimed), the load started (20 workers, every 2nd
// request /slow?ms=200), v2 deployed by the action or by the hand-written script (timed), 1 s more of load.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad, waitForVersion, type Load, type LoadOptions } from '../test-target/load.js';
import { runAction, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { placeFailures, runActionTimed, runTimed, stepsOf, type StampedLine } from './report.js';

export type Mode = 'script' | 'action';

/** The action's default bake-time, in seconds. */
export const BAKE_S = 10;

export interface BenchPaths {
  logs: string;
  script: string;
}

export const LOAD: Omit<LoadOptions, 'url'> = {
  concurrency: 20,
  slowEvery: 2,
  slowMs: 200,
  maxDurationMs: 120_000,
  maxRequests: 200_000,
};

interface TimedDeploy {
  code: number | null;
  durationMs: number;
  startedAt: number;
  lines: StampedLine[];
  log: string;
  appLogPath: string;
}

function startupMs(text: string): number {
  const m = /Started DemoApp in (\d+) ms/.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Untimed: ship the script and the jar, as a CI job would before running the script. */
async function shipScript(t: Target, appDir: string, jar: string, script: string): Promise<void> {
  const mk = await t.ssh(`mkdir -p ${appDir}`);
  if (mk.code !== 0) throw new Error(`mkdir failed: ${mk.stderr}`);
  const login = `${t.username}@${t.host}:${appDir}/`;
  const cp = await runTimed('scp', [
    ...t.sshClientOptions(),
    '-P',
    String(t.sshPort),
    '-q',
    script,
    jar,
    login,
  ]);
  if (cp.code !== 0) throw new Error(`scp failed: ${cp.output}`);
}

async function timedDeploy(mode: Mode, t: Target, jar: string, appDir: string, script: string) {
  if (mode === 'action') {
    // The bake window users get by default: the old app stays warm 10 s after the switch.
    const r = await runActionTimed(targetInputs(t, { jar, 'bake-time': String(BAKE_S) }));
    const appLogPath = `${t.remoteDir}/releases/${r.outputs['release-id']}/app.log`;
    return { ...r, log: r.log, appLogPath } satisfies TimedDeploy;
  }
  const env = [
    `JAR=${appDir}/${path.basename(jar)}`,
    `BLUE_PORT=${t.bluePort}`,
    `GREEN_PORT=${t.greenPort}`,
    `INCLUDE=${t.nginxInclude}`,
    `NGINX_CONF=${t.nginxConfig}`,
    `APP_DIR=${appDir}`,
  ];
  const command = `${env.join(' ')} bash ${appDir}/${path.basename(script)}`;
  const login = `${t.username}@${t.host}`;
  const r = await runTimed('ssh', [...t.sshClientOptions(), '-p', String(t.sshPort), login, command]);
  return { ...r, log: r.output, appLogPath: `${appDir}/app.log` } satisfies TimedDeploy;
}

export async function deployUnderLoad(
  mode: Mode,
  run: number,
  jars: { v1: string; v2: string },
  paths: BenchPaths,
) {
  const t = await startTarget(mode === 'script' ? { user: 'root' } : {});
  let load: Load | null = null;
  try {
    const first = await runAction({ inputs: targetInputs(t, { jar: jars.v1 }) });
    if (first.code !== 0) throw new Error(`v1 deploy failed:\n${first.log.slice(-3000)}`);
    const appDir = `${t.remoteDir}/handwritten`;
    if (mode === 'script') await shipScript(t, appDir, jars.v2, paths.script);

    load = startLoad({ url: t.nginxUrl, ...LOAD });
    await waitForVersion(load, 'v1', 10_000);
    await sleep(1000); // the measurement window: 1 s of steady load before the deploy ...
    const deploy = await timedDeploy(mode, t, jars.v2, appDir, paths.script);
    await sleep(1000); // ... and 1 s after it
    const report = await load.stop();
    load = null;

    const appLog = await t.ssh(`cat ${deploy.appLogPath}`);
    const startup = startupMs(appLog.stdout);
    const steps = stepsOf(deploy.lines, mode, deploy.durationMs);
    // When nginx sends every new request to v2: the end of the switch (the bake window comes after it).
    const switched = steps.find((s) =>
      mode === 'action' ? s.name === 'Switch nginx' : s.name.startsWith('switching nginx'),
    );
    const servingMs = switched ? switched.endMs : NaN;
    writeFileSync(path.join(paths.logs, `${mode}-run${run}.log`), deploy.log);
    writeFileSync(path.join(paths.logs, `${mode}-run${run}-app.log`), appLog.stdout);
    return {
      mode,
      run,
      deployExit: deploy.code,
      wallMs: Math.round(deploy.durationMs),
      startupMs: startup,
      servingMs,
      overheadMs: Math.round(servingMs - startup),
      total: report.total,
      failed: report.failed,
      failedOnReusedConnection: report.failedOnReusedConnection,
      retriedOnReusedConnection: report.retriedOnReusedConnection,
      byStatus: report.byStatus,
      errors: report.errors,
      versions: report.versions,
      servingAfter: (await t.get('/')).body.trim(),
      steps,
      failures: placeFailures(report, deploy.startedAt, deploy.durationMs, steps),
      timeline: deploy.lines.map((l) => `+${Math.round(l.ms)} ms ${l.text}`),
    };
  } finally {
    if (load) await load.stop();
    await t.stop();
  }
}

export type BenchRun = Awaited<ReturnType<typeof deployUnderLoad>>;
