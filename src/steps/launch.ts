// Steps 5 and 6: free the idle port of a stale app of ours, then start the new release there. From the launch
// until the switch, the undo list stops the new app if anything fails.
import { adoptApp, javaArgv, launchApp, stopApp, type AppProcess, type LaunchSpec } from '../commands/app.js';
import { launchUnit } from '../commands/systemd-launch.js';
import type { RemoteCommand } from '../commands/types.js';
import { launchWords } from '../per-port.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';
import { unitFileSpec, unitFor } from './supervise.js';

export async function freeIdlePort(ctx: HostContext, plan: PortPlan): Promise<void> {
  const name = `Free port ${plan.idle}`;
  const stale = plan.staleOnIdle;
  if (!stale) {
    ctx.steps.skip(name, 'nothing of ours held it');
    return;
  }
  await ctx.steps.run(name, async (detail) => {
    const timeoutMs = ctx.settings.stopTimeoutMs;
    const app = { ...stale, unit: unitFor(ctx, plan.idle) };
    const stopped = await ctx.host.run(
      stopApp(ctx.paths, { app, port: plan.idle, timeoutMs, untilClosed: false }),
    );
    detail(`stale pid ${stale.pid}: ${stopped.how} after ${stopped.ms} ms`);
  });
}

export async function launch(ctx: HostContext, plan: PortPlan, releaseId: string): Promise<AppProcess> {
  const { settings: s, paths } = ctx;
  return ctx.steps.run(`Launch on ${plan.idle}`, async (detail) => {
    const spec = { releaseId, port: plan.idle, java: s.java, ...launchWords(s, plan.idle) };
    const app = await ctx.host.run(launchCommand(ctx, spec));
    const what = app.unit ? `${app.unit.name}, pid ${app.pid}` : `pid ${app.pid}`;
    ctx.undo.push(`stop the new app (${what})`, () =>
      ctx.host.run(stopApp(paths, { app, port: plan.idle, timeoutMs: s.stopTimeoutMs, untilClosed: false })),
    );
    detail(`${what}, log ${paths.log(releaseId)}`);
    return app;
  });
}

/** A detached process group, or an instance of the supervisor's unit. */
function launchCommand(ctx: HostContext, spec: LaunchSpec): RemoteCommand<'launch'> {
  const unit = unitFor(ctx, spec.port);
  if (!unit) return launchApp(ctx.paths, spec);
  const args = javaArgv(ctx.paths, spec).slice(1);
  return launchUnit(ctx.paths, { ...spec, args, unit, unitFile: unitFileSpec(ctx) });
}

/**
 * Steps 5 and 6 for a release: a rollback whose release still runs on the idle port (a stop that had not
 * finished, say) uses it as it is; otherwise the port is freed and the release launched.
 */
export async function startRelease(ctx: HostContext, plan: PortPlan, releaseId: string): Promise<AppProcess> {
  const stale = plan.staleOnIdle;
  // A deploy claims a new folder each time: only a rollback can find its release running. One that does not
  // listen (still starting, or hung) is not trusted: it is stopped and the release launched afresh.
  if (stale?.release !== releaseId || !stale.listening) {
    await freeIdlePort(ctx, plan);
    return launch(ctx, plan, releaseId);
  }
  return ctx.steps.run(`Reuse on ${plan.idle}`, async (detail) => {
    const app = { pid: stale.pid, start: stale.start, unit: unitFor(ctx, plan.idle) };
    await ctx.host.run(adoptApp(ctx.paths, app, plan.idle));
    ctx.undo.push(`stop the reused app (pid ${app.pid})`, () =>
      ctx.host.run(
        stopApp(ctx.paths, {
          app,
          port: plan.idle,
          timeoutMs: ctx.settings.stopTimeoutMs,
          untilClosed: false,
        }),
      ),
    );
    detail(`${releaseId} still runs there (pid ${app.pid}): used as it is, nothing launched`);
    return app;
  });
}
