// Step 11 (bake-time > 0): the new version must prove itself while the old one still runs as nginx's backup.
// Until the window ends the new app is watched: alive, healthy on its own port, and healthy through nginx when
// verify-url is given. A failure switches nginx back to the old app and stops the new one; a clean window
// drops the backup, so that the old app can be drained and stopped.
import { isAlive, type AppProcess } from '../commands/app.js';
import { drainWorkers } from '../commands/drain.js';
import { switchNginx } from '../commands/nginx.js';
import { isHealthy } from '../health.js';
import { healthUrl } from '../per-port.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';
import { bakeEndChanges } from './routing.js';
import { switchBack } from './switch-back.js';

const WATCH_INTERVAL_MS = 250;
/** One failed answer can be a blip; two in a row are not. */
const FAILURES_IN_A_ROW = 2;

export async function bake(ctx: HostContext, plan: PortPlan, app: AppProcess): Promise<void> {
  const ms = ctx.settings.bakeTimeMs;
  if (ms === 0) {
    ctx.steps.skip('Bake', 'bake-time is 0');
    return;
  }
  await ctx.steps.run('Bake', async (detail) => {
    const problem = await watch(ctx, plan, app, ms);
    if (problem === undefined) {
      await dropBackup(ctx, plan);
      detail(
        `the new app stayed healthy for ${ms / 1000} s${plan.live === undefined ? '' : `; port ${plan.live} is no longer a backup`}`,
      );
      return;
    }
    const back = await switchBack(ctx, plan, app);
    throw new Error(
      `${problem}; ${back ? `switched back: port ${plan.live} serves again` : 'first deploy: nothing to switch back to'}`,
    );
  });
}

/** The first problem seen within `ms`, or undefined. */
async function watch(
  ctx: HostContext,
  plan: PortPlan,
  app: AppProcess,
  ms: number,
): Promise<string | undefined> {
  const { clock, settings: s } = ctx;
  const started = clock.now();
  const urls = [healthUrl(s, plan.idle), ...(s.verifyUrl ? [s.verifyUrl] : [])];
  const failures = new Map<string, number>();
  while (clock.now() - started < ms) {
    const seconds = ((clock.now() - started) / 1000).toFixed(1);
    if (!(await ctx.host.run(isAlive(app))))
      return `the new app (pid ${app.pid}) exited ${seconds} s into the bake window`;
    for (const url of urls) {
      const answer = await probe(ctx, url);
      const count = answer === undefined ? 0 : (failures.get(url) ?? 0) + 1;
      failures.set(url, count);
      if (count >= FAILURES_IN_A_ROW)
        return `${url} turned unhealthy ${seconds} s into the bake window (${answer})`;
    }
    await clock.sleep(WATCH_INTERVAL_MS);
  }
  return undefined;
}

/** undefined when healthy, else what was wrong. */
async function probe(ctx: HostContext, url: string): Promise<string | undefined> {
  try {
    const result = await ctx.host.httpGet(url, ctx.settings.healthProbeTimeoutMs);
    if (isHealthy(result, ctx.settings.healthExpect)) return undefined;
    return `HTTP ${result.status} ${result.body.replace(/\s+/g, ' ').trim().slice(0, 200)}`.trim();
  } catch (error) {
    return `no answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The new app alone in the upstream group; the workers that could still use the backup are drained. A first
 * deploy's group never had a backup (its bakeEndChanges are empty): nothing to do.
 */
async function dropBackup(ctx: HostContext, plan: PortPlan): Promise<void> {
  if (plan.live === undefined) return;
  const title = `nginx: drop the backup on port ${plan.live}`;
  const { oldWorkers } = await ctx.host.run(switchNginx(ctx.nginx, title, bakeEndChanges(plan)));
  await ctx.host.run(drainWorkers(oldWorkers, ctx.settings.drainTimeoutMs));
}
