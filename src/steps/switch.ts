// Step 8: point nginx at the new port (write, nginx -t, reload; the previous include is put back on any
// failure). Only the port in the user's own line changes. From here nginx routes to the new app: nothing that
// fails later may stop it, so the undo list ends.
import { switchNginx, type IncludeChange } from '../commands/nginx.js';
import { switchedText } from '../nginx-include.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

/** What the switch writes over what detection read. */
export function switchChange(plan: PortPlan): IncludeChange {
  const { text, target } = plan.include;
  return { content: switchedText(target, plan.idle), expected: text };
}

/** Returns the old nginx workers, which still finish requests routed to the old app. */
export async function switchTraffic(ctx: HostContext, plan: PortPlan): Promise<number[]> {
  return ctx.steps.run('Switch nginx', async (detail) => {
    const command = switchNginx(ctx.nginx, plan.idle, switchChange(plan), ctx.paths.pending);
    const { oldWorkers } = await ctx.host.run(command);
    ctx.undo.clear();
    ctx.state.servingPort = plan.idle;
    detail(`${ctx.settings.nginxInclude} -> port ${plan.idle}, nginx reloaded`);
    return oldWorkers;
  });
}
