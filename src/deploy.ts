// The blue/green deploy of one host, step by step, as the README lists them (step 1, Connect, is in
// rollout.ts). Until nginx is switched, every failure undoes what was started (the new app is stopped) so the
// old version keeps serving; after the switch, a failed check through nginx switches back while the old app
// still runs.
import { bake } from './steps/bake.js';
import { checkCancelled, type HostContext } from './steps/context.js';
import { detectLive } from './steps/detect.js';
import { drain } from './steps/drain.js';
import { healthGate } from './steps/health-gate.js';
import { freeIdlePort, launch } from './steps/launch.js';
import { acquireLock, releaseLock } from './steps/lock.js';
import { prune } from './steps/prune.js';
import { stopOld } from './steps/stop-old.js';
import { checkSupervisor, enableAtBoot } from './steps/supervise.js';
import { switchTraffic } from './steps/switch.js';
import { upload } from './steps/upload.js';
import { verifyThroughNginx } from './steps/verify.js';

export interface HostResult {
  activePort: number;
  previousPort?: number;
  releaseId: string;
}

export async function deployHost(ctx: HostContext): Promise<HostResult> {
  const lock = await acquireLock(ctx);
  try {
    await checkSupervisor(ctx);
    const plan = await detectLive(ctx);
    checkCancelled(ctx);
    const releaseId = await upload(ctx);
    checkCancelled(ctx);
    await freeIdlePort(ctx, plan);
    checkCancelled(ctx);
    const app = await launch(ctx, plan, releaseId);
    await healthGate(ctx, plan, app, releaseId);
    checkCancelled(ctx);
    const oldWorkers = await switchTraffic(ctx, plan);
    await drain(ctx, oldWorkers);
    const verifyUrl = ctx.settings.verifyUrl;
    if (verifyUrl) await verifyThroughNginx(ctx, verifyUrl, plan, app);
    await bake(ctx, plan, app);
    await enableAtBoot(ctx, plan);
    await stopOld(ctx, plan);
    await prune(ctx, releaseId);
    return { activePort: plan.idle, previousPort: plan.live, releaseId };
  } catch (error) {
    await ctx.undo.runAll(ctx.log);
    throw error;
  } finally {
    await releaseLock(ctx, lock);
  }
}
