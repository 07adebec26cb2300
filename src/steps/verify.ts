// Step 10 (with verify-url): the new version must answer healthy through nginx. If it does not, nginx is
// switched back to the old app while it still runs, and the new app is stopped once no worker routes to it.
import type { AppProcess } from '../commands/app.js';
import { pollHealth } from '../health.js';
import type { PortPlan } from '../plan.js';
import { switchBack } from './switch-back.js';
import type { HostContext } from './context.js';

/** Short: while it runs, users may be getting the new version's errors. */
const VERIFY_TIMEOUT_MS = 1500;
const VERIFY_INTERVAL_MS = 200;

export async function verifyThroughNginx(
  ctx: HostContext,
  verifyUrl: string,
  plan: PortPlan,
  app: AppProcess,
): Promise<void> {
  await ctx.steps.run('Verify through nginx', async (detail) => {
    const outcome = await pollHealth({
      probe: (ms) => ctx.host.httpGet(verifyUrl, ms),
      probeTimeoutMs: ctx.settings.healthProbeTimeoutMs,
      alive: () => Promise.resolve(true),
      expect: ctx.settings.healthExpect,
      timeoutMs: Math.min(VERIFY_TIMEOUT_MS, ctx.settings.healthTimeoutMs),
      intervalMs: VERIFY_INTERVAL_MS,
      now: () => ctx.clock.now(),
      sleep: (ms) => ctx.clock.sleep(ms),
    });
    if (outcome.healthy) {
      detail(`${verifyUrl}: ${outcome.last}`);
      return;
    }
    const back = await switchBack(ctx, plan, app);
    throw new Error(
      `${verifyUrl} is not healthy through nginx (${outcome.last}); ` +
        (back ? 'switched back' : 'first deploy: nothing to switch back to, the new version stays'),
    );
  });
}
