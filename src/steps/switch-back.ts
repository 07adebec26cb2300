// After a failed check behind nginx (verify-url, or the bake window): nginx back to the old app, which still
// runs, with both routing files exactly as they were; then the new app is stopped once no worker routes to it.
import { stopApp, type AppProcess } from '../commands/app.js';
import { drainWorkers } from '../commands/drain.js';
import { switchNginx } from '../commands/nginx.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';
import { switchBackChanges } from './routing.js';

/** Returns false on a first deploy, where there is nothing to go back to. */
export async function switchBack(ctx: HostContext, plan: PortPlan, app: AppProcess): Promise<boolean> {
  const { host, log, settings: s } = ctx;
  if (plan.live === undefined) {
    log.warning('first deploy: there is no previous version to switch back to');
    return false;
  }
  const changes = switchBackChanges(plan, s.bakeTimeMs > 0);
  const { oldWorkers } = await host.run(
    switchNginx(ctx.nginx, `switch nginx back to port ${plan.live}`, changes),
  );
  ctx.state.servingPort = plan.live;
  log.info(`nginx routes to port ${plan.live} again`);
  await host.run(drainWorkers(oldWorkers, s.drainTimeoutMs));
  await host.run(
    stopApp(ctx.paths, { app, port: plan.idle, timeoutMs: s.stopTimeoutMs, untilClosed: false }),
  );
  return true;
}
