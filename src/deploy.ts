// The blue/green deploy of one host, step by step. Until nginx is switched, every failure undoes what was
// started (the new app is stopped) so the old version keeps serving; after the switch, a failed check
// through nginx switches back while the old app still runs.
import { stat } from 'node:fs/promises';
import { isAlive, launchApp, logTail, stopApp } from './commands/app.js';
import { detectPorts, parseDetection } from './commands/detect.js';
import { holdLock, LOCK_TIMEOUT_EXIT } from './commands/lock.js';
import { oldWorkers, restoreNginx, switchNginx, type NginxSpec } from './commands/nginx.js';
import { envFileContent, prepareRelease, verifyUpload } from './commands/release.js';
import { pruneReleases, retireOld } from './commands/stop.js';
import { pollHealth } from './health.js';
import type { Settings } from './inputs.js';
import { layout } from './layout.js';
import type { Log } from './log.js';
import { planPorts, type PortPlan } from './plan.js';
import { execChecked, execValues, type HeldCommand, type Remote } from './remote.js';
import type { StepRunner } from './steps.js';

export interface DeployContext {
  settings: Settings;
  remote: Remote;
  steps: StepRunner;
  log: Log;
  /** Who holds the lock, as shown to a concurrent run: run id, actor, time. */
  lockHolder: string;
  signal?: AbortSignal;
}

export interface HostResult {
  activePort: number;
  previousPort?: number;
  releaseId: string;
}

const LOG_TAIL_LINES = 40;

export class DeployCancelled extends Error {
  constructor() {
    super('the deploy was cancelled');
  }
}

export async function deployHost(ctx: DeployContext): Promise<HostResult> {
  const { settings: s, remote, steps, log } = ctx;
  const paths = layout(s.remoteDir);
  const nginx: NginxSpec = {
    include: s.nginxInclude,
    config: s.nginxConfig,
    reload: s.nginxReload,
    sudo: s.sudo,
  };
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new DeployCancelled();
  };
  // What to undo, newest first, if a step fails before the deploy is committed.
  const undo: { what: string; run: () => Promise<void> }[] = [];

  const lock = await steps.run('Lock', (detail) => acquireLock(ctx, detail));
  try {
    const plan = await steps.run('Detect ports', async (detail) => {
      const result = await execChecked(remote, detectPorts(paths, s.nginxInclude, [s.bluePort, s.greenPort]));
      const p = planPorts(parseDetection(result.stdout, [s.bluePort, s.greenPort]), s.bluePort, s.greenPort);
      p.notes.forEach((note) => log.info(note));
      detail(p.live === undefined ? `first deploy: idle ${p.idle}` : `live ${p.live}, idle ${p.idle}`);
      return p;
    });
    checkCancel();

    // The release folder actually used: the release-id, or release-id-2... if the host already has that name.
    const releaseId = await steps.run('Upload', (detail) => upload(ctx, detail));
    checkCancel();

    if (plan.staleOnIdle) {
      const stale = plan.staleOnIdle;
      await steps.run(`Free port ${plan.idle}`, async (detail) => {
        await execChecked(remote, stopApp(paths, plan.idle, stale.pid, stale.start, s.stopTimeoutMs));
        detail(`stopped stale pid ${stale.pid}`);
      });
    } else {
      steps.skip(`Free port ${plan.idle}`, 'nothing of ours held it');
    }
    checkCancel();

    const app = await steps.run(`Launch on ${plan.idle}`, async (detail) => {
      const out = await execValues(
        remote,
        launchApp(paths, {
          releaseId,
          port: plan.idle,
          java: s.java,
          javaOpts: s.javaOpts,
          appArgs: s.appArgs,
        }),
      );
      const launched = { pid: Number(out.get('pid')), start: out.get('start') ?? '' };
      undo.push({
        what: `stop the new app (pid ${launched.pid})`,
        run: async () =>
          void (await execChecked(
            remote,
            stopApp(paths, plan.idle, launched.pid, launched.start, s.stopTimeoutMs),
          )),
      });
      detail(`pid ${launched.pid}, log ${paths.log(releaseId)}`);
      return launched;
    });

    await steps.run('Health check', async (detail) => {
      const url = `http://127.0.0.1:${plan.idle}${s.healthPath}`;
      const outcome = await pollHealth({
        probe: () => remote.httpGet(url, Math.min(5000, s.healthTimeoutMs)),
        alive: async () => (await execValues(remote, isAlive(app.pid, app.start))).get('alive') === '1',
        expect: s.healthExpect,
        timeoutMs: s.healthTimeoutMs,
        intervalMs: s.healthIntervalMs,
        onProgress: (m) => log.info(m),
        signal: ctx.signal,
      });
      if (outcome.healthy) {
        detail(`${url} healthy after ${(outcome.elapsedMs / 1000).toFixed(2)} s (${outcome.attempts} polls)`);
        return;
      }
      if (outcome.reason === 'aborted') throw new DeployCancelled();
      // The app may log its own environment: secret-env values are cut out here, not left to the runner's mask.
      const tail = redact(
        (await remote.exec(logTail(paths, releaseId, LOG_TAIL_LINES))).stdout,
        s.secretEnv.map(([, value]) => value),
      );
      log.info(`Last ${LOG_TAIL_LINES} lines of ${paths.log(releaseId)}:\n${tail}`);
      throw new Error(
        outcome.reason === 'exited'
          ? `the new app (pid ${app.pid}) exited before it became healthy; last answer: ${outcome.last}`
          : `${url} was not healthy within ${s.healthTimeoutMs / 1000} s; last answer: ${outcome.last}`,
      );
    });
    checkCancel();

    const workers = await steps.run('Switch nginx', async (detail) => {
      const note = `release ${releaseId} on port ${plan.idle}`;
      const out = await execValues(remote, switchNginx(nginx, plan.idle, note, paths.pending));
      detail(`${s.nginxInclude} -> 127.0.0.1:${plan.idle}, nginx reloaded`);
      return oldWorkers(out.get('workers_before') ?? '', out.get('workers_new') ?? '');
    });
    // nginx routes to the new app now: whatever fails from here must not stop it (only a rollback that has
    // switched nginx back may, and does so itself).
    undo.length = 0;

    // Until the old workers are gone some requests still reach the old app: wait for them before checking
    // through nginx, and before stopping the old app.
    await steps.run('Drain nginx', async (detail) => {
      const drain = retireOld(paths, {
        oldWorkers: workers,
        drainTimeoutMs: s.drainTimeoutMs,
        stopTimeoutMs: s.stopTimeoutMs,
        awaitStop: s.awaitStop,
      });
      const out = await execValues(remote, drain);
      if (out.get('drained') === 'timeout') {
        log.warning(`old nginx workers were still busy after drain-timeout (${s.drainTimeoutMs / 1000} s)`);
      }
      detail(`${workers.length} old nginx workers finished their requests in ${out.get('drain_ms')} ms`);
    });

    if (s.verifyUrl) {
      const verifyUrl = s.verifyUrl;
      await steps.run('Verify through nginx', async (detail) => {
        const outcome = await pollHealth({
          probe: () => remote.httpGet(verifyUrl, 5000),
          alive: async () => true,
          expect: s.healthExpect,
          // Short: while it runs, users may be getting the new version's errors.
          timeoutMs: Math.min(1500, s.healthTimeoutMs),
          intervalMs: 200,
        });
        if (outcome.healthy) return detail(`${verifyUrl}: ${outcome.last}`);
        const back = await rollback(ctx, nginx, plan, app);
        throw new Error(
          `${verifyUrl} is not healthy through nginx (${outcome.last}); ` +
            (back ? 'switched back' : 'first deploy: nothing to switch back to, the new version stays'),
        );
      });
    }
    const old =
      plan.oldProcess && plan.live !== undefined ? { ...plan.oldProcess, port: plan.live } : undefined;
    if (old) {
      await steps.run('Stop old app', async (detail) => {
        const stop = retireOld(paths, {
          oldWorkers: [],
          drainTimeoutMs: 0,
          old,
          stopTimeoutMs: s.stopTimeoutMs,
          awaitStop: s.awaitStop,
        });
        const out = await execValues(remote, stop);
        const how: Record<string, string> = {
          exited: 'exited',
          'listener-closed': `closed its port; still finishing, killed at stop-timeout if needed`,
          killed: `killed after stop-timeout (${s.stopTimeoutMs / 1000} s)`,
          gone: 'was already gone',
        };
        detail(`old pid ${old.pid} on port ${old.port}: ${how[out.get('stop') ?? ''] ?? out.get('stop')}`);
      });
    } else {
      steps.skip('Stop old app', 'no previous app of ours');
    }
    const pruned = await remote.exec(pruneReleases(paths, s.keepReleases, releaseId));
    if (pruned.code !== 0) log.warning(`could not prune old releases: ${pruned.stderr}`);
    return { activePort: plan.idle, previousPort: plan.live, releaseId };
  } catch (error) {
    for (const step of undo.reverse()) {
      log.info(`undo: ${step.what}`);
      await step.run().catch((e: Error) => log.warning(`could not ${step.what}: ${e.message}`));
    }
    throw error;
  } finally {
    const code = await lock.release().catch(() => null);
    if (code !== 0) log.debug(`lock holder ended with ${code}: ${lock.output().stderr}`);
  }
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((v) => v !== '').reduce((out, v) => out.split(v).join('***'), text);
}

async function acquireLock(ctx: DeployContext, detail: (t: string) => void): Promise<HeldCommand> {
  const { settings: s, remote, log } = ctx;
  const paths = layout(s.remoteDir);
  const timeoutSeconds = Math.ceil(s.lockTimeoutMs / 1000);
  const lock = await remote.hold(holdLock(paths, ctx.lockHolder, timeoutSeconds));
  try {
    const first = await lock.waitFor([/^locked$/, /^waiting=/]);
    if (first.startsWith('waiting=')) {
      log.info(
        `another deploy holds the lock (${first.slice(8).trim() || 'unknown'}); waiting up to ${timeoutSeconds} s`,
      );
      await lock.waitFor([/^locked$/]);
    }
  } catch (error) {
    const code = await lock.release();
    const holder = lock
      .output()
      .stdout.match(/^holder=(.*)$/m)?.[1]
      ?.trim();
    if (code === LOCK_TIMEOUT_EXIT) {
      throw new Error(
        `lock-timeout: another deploy still holds ${paths.lockFile} after ${timeoutSeconds} s (${holder || 'holder unknown'})`,
        { cause: error },
      );
    }
    throw error;
  }
  detail(`holding ${paths.lockFile}`);
  return lock;
}

async function upload(ctx: DeployContext, detail: (t: string) => void): Promise<string> {
  const { settings: s, remote } = ctx;
  const paths = layout(s.remoteDir);
  const size = (await stat(s.jarPath)).size;
  const prepared = await execValues(remote, prepareRelease(paths, s.releaseId, s.jarSha256, size));
  const releaseId = prepared.get('release') || s.releaseId;
  if (releaseId !== s.releaseId)
    ctx.log.info(`release ${s.releaseId} exists on the host: this one is ${releaseId}`);
  const env = [...s.env, ...s.secretEnv];
  if (env.length > 0) await remote.writeFile(paths.envFile(releaseId), envFileContent(env), 0o600);
  const reused = prepared.get('reused');
  if (reused) {
    detail(
      `same jar (sha256 ${s.jarSha256.slice(0, 12)}) already on the host: linked from ${reused}, nothing uploaded`,
    );
    return releaseId;
  }
  const started = Date.now();
  await remote.upload(s.jarPath, `${paths.jar(releaseId)}.part`);
  const seconds = (Date.now() - started) / 1000;
  await execChecked(remote, verifyUpload(paths, releaseId, s.jarSha256));
  const mb = size / 1e6;
  const amount = size < 1e6 ? `${(size / 1e3).toFixed(1)} kB` : `${mb.toFixed(1)} MB`;
  detail(
    `${amount} in ${seconds.toFixed(2)} s (${(mb / Math.max(seconds, 0.001)).toFixed(1)} MB/s), sha256 verified`,
  );
  return releaseId;
}

/**
 * After a failed check through nginx: point nginx back at the old app, let the workers that still route to the
 * new app finish, then stop it. Returns false on a first deploy, where there is nothing to go back to.
 */
async function rollback(
  ctx: DeployContext,
  nginx: NginxSpec,
  plan: PortPlan,
  app: { pid: number; start: string },
): Promise<boolean> {
  const { remote, log, settings: s } = ctx;
  if (plan.live === undefined) {
    log.warning('first deploy: there is no previous version to switch back to');
    return false;
  }
  const out = await execValues(
    remote,
    restoreNginx(nginx, plan.live, `rollback from release ${s.releaseId}`),
  );
  log.info(`nginx points at port ${plan.live} again`);
  await execChecked(
    remote,
    retireOld(layout(s.remoteDir), {
      oldWorkers: oldWorkers(out.get('workers_before') ?? '', out.get('workers_new') ?? ''),
      drainTimeoutMs: s.drainTimeoutMs,
      old: { ...app, port: plan.idle },
      stopTimeoutMs: s.stopTimeoutMs,
      awaitStop: true,
    }),
  );
  return true;
}
