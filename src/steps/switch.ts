// Step 8: point nginx at the new port (write, nginx -t, reload; every file is put back on any failure). With a
// bake window the old app stays in nginx's upstream group as the backup. From here nginx routes to the new
// app: nothing that fails later may stop it, so the undo list ends.
import { switchNginx } from '../commands/nginx.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';
import { switchChanges } from './routing.js';

/** Returns the old nginx workers, which still finish requests routed to the old app. */
export async function switchTraffic(ctx: HostContext, plan: PortPlan): Promise<number[]> {
  const bake = ctx.settings.bakeTimeMs > 0;
  return ctx.steps.run('Switch nginx', async (detail) => {
    const title = `switch nginx to port ${plan.idle}`;
    const changes = switchChanges(plan, bake);
    const { oldWorkers } = await ctx.host.run(switchNginx(ctx.nginx, title, changes, ctx.paths.pending));
    ctx.undo.clear();
    ctx.state.servingPort = plan.idle;
    const backup = bake && plan.live !== undefined ? `, port ${plan.live} kept as backup` : '';
    const files = changes.length > 0 ? changes.map((c) => c.path).join(', ') : 'files unchanged';
    detail(`nginx routes to port ${plan.idle}${backup} (${files}), reloaded`);
    return oldWorkers;
  });
}
