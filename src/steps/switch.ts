// Step 8: point nginx at the new port (write, nginx -t, reload; the previous include is put back on any
// failure). From here nginx routes to the new app: nothing that fails later may stop it, so the undo list ends.
import { switchNginx } from '../commands/nginx.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

/** Returns the old nginx workers, which still finish requests routed to the old app. */
export async function switchTraffic(ctx: HostContext, plan: PortPlan, releaseId: string): Promise<number[]> {
  return ctx.steps.run('Switch nginx', async (detail) => {
    const note = `release ${releaseId} on port ${plan.idle}`;
    const { oldWorkers } = await ctx.host.run(switchNginx(ctx.nginx, plan.idle, note, ctx.paths.pending));
    ctx.undo.clear();
    ctx.state.servingPort = plan.idle;
    detail(`${ctx.settings.nginxInclude} -> 127.0.0.1:${plan.idle}, nginx reloaded`);
    return oldWorkers;
  });
}
