// The blue/green switch of one host, step by step, as the README lists them (step 1, Connect, is in
// rollout.ts). A deploy uploads the jar; a rollback chooses a release already on the host. Until nginx is
// switched, every failure undoes what was started (the new app is stopped) so the old version keeps serving;
// after the switch, a failed check through nginx switches back while the old app still runs. The run is in
// the host's history from the lock on, whatever happens.
import { bake } from './steps/bake.js';
import { chooseRelease } from './steps/choose.js';
import { checkCancelled, type HostContext } from './steps/context.js';
import { detectLive } from './steps/detect.js';
import { drain } from './steps/drain.js';
import { healthGate } from './steps/health-gate.js';
import { startRelease } from './steps/launch.js';
import { acquireLock, releaseLock } from './steps/lock.js';
import { prune } from './steps/prune.js';
import { failedEnd, previousOf, recordEnd, recordStart, type RunStart } from './steps/record.js';
import { stopOld } from './steps/stop-old.js';
import { checkSupervisor, enableAtBoot } from './steps/supervise.js';
import { switchTraffic } from './steps/switch.js';
import { upload } from './steps/upload.js';
import { verifyThroughNginx } from './steps/verify.js';

/** A deploy of the settings' jar, or a rollback to `to` (undefined: the previous good release). */
export type Operation = { kind: 'deploy' } | { kind: 'rollback'; to?: string; reason?: string };

export interface HostResult {
  activePort: number;
  previousPort?: number;
  releaseId: string;
  /** The release that served before, when known: what a fleet's rollback returns to. */
  previousRelease?: string;
}

export async function switchHost(ctx: HostContext, op: Operation): Promise<HostResult> {
  const lock = await acquireLock(ctx);
  try {
    await recordStart(ctx, runStart(ctx, op));
    let result: HostResult;
    try {
      result = await blueGreen(ctx, op);
    } catch (error) {
      await ctx.undo.runAll(ctx.log);
      await recordEnd(ctx, failedEnd(ctx, error));
      throw error;
    }
    const { releaseId: release, activePort: port } = result;
    const outcome = op.kind === 'deploy' ? 'deployed' : 'rolled-back-to';
    await recordEnd(ctx, { result: outcome, release, port, ...previousOf(ctx) });
    await prune(ctx, release);
    return result;
  } finally {
    await releaseLock(ctx, lock);
  }
}

function runStart(ctx: HostContext, op: Operation): RunStart {
  const s = ctx.settings;
  if (op.kind === 'deploy') return { mode: 'deploy', release: s.releaseId, sha256: s.jar?.sha256 };
  return { mode: 'rollback', release: op.to, ...(op.reason ? { reason: op.reason } : {}) };
}

async function blueGreen(ctx: HostContext, op: Operation): Promise<HostResult> {
  await checkSupervisor(ctx);
  const plan = await detectLive(ctx);
  checkCancelled(ctx);
  const releaseId = op.kind === 'deploy' ? await upload(ctx) : await chooseRelease(ctx, plan, op.to);
  checkCancelled(ctx);
  if (releaseId === plan.liveRelease && plan.live !== undefined) {
    ctx.steps.skip('Switch nginx', `${releaseId} serves already on port ${plan.live}`);
    return { activePort: plan.live, previousPort: plan.live, releaseId, previousRelease: releaseId };
  }
  const app = await startRelease(ctx, plan, releaseId);
  await healthGate(ctx, plan, app, releaseId);
  checkCancelled(ctx);
  const oldWorkers = await switchTraffic(ctx, plan);
  await drain(ctx, oldWorkers);
  const verifyUrl = ctx.settings.verifyUrl;
  if (verifyUrl) await verifyThroughNginx(ctx, verifyUrl, plan, app);
  await bake(ctx, plan, app);
  await enableAtBoot(ctx, plan);
  await stopOld(ctx, plan);
  return { activePort: plan.idle, previousPort: plan.live, releaseId, previousRelease: plan.liveRelease };
}
