// Steps 5 and 6: free the idle port of a stale app of ours, then start the new release there. From the launch
// until the switch, the undo list stops the new app if anything fails.
import { launchApp, stopApp, type AppProcess } from '../commands/app.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

export async function freeIdlePort(ctx: HostContext, plan: PortPlan): Promise<void> {
  const name = `Free port ${plan.idle}`;
  const stale = plan.staleOnIdle;
  if (!stale) {
    ctx.steps.skip(name, 'nothing of ours held it');
    return;
  }
  await ctx.steps.run(name, async (detail) => {
    const timeoutMs = ctx.settings.stopTimeoutMs;
    const stopped = await ctx.host.run(
      stopApp(ctx.paths, { app: stale, port: plan.idle, timeoutMs, untilClosed: false }),
    );
    detail(`stale pid ${stale.pid}: ${stopped.how} after ${stopped.ms} ms`);
  });
}

export async function launch(ctx: HostContext, plan: PortPlan, releaseId: string): Promise<AppProcess> {
  const { settings: s, paths } = ctx;
  return ctx.steps.run(`Launch on ${plan.idle}`, async (detail) => {
    const spec = { releaseId, port: plan.idle, java: s.java, javaOpts: s.javaOpts, appArgs: s.appArgs };
    const app = await ctx.host.run(launchApp(paths, spec));
    ctx.undo.push(`stop the new app (pid ${app.pid})`, () =>
      ctx.host.run(stopApp(paths, { app, port: plan.idle, timeoutMs: s.stopTimeoutMs, untilClosed: false })),
    );
    detail(`pid ${app.pid}, log ${paths.log(releaseId)}`);
    return app;
  });
}
