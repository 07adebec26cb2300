// Step 3: which port is live, which is idle, and what runs on each.
import { detectPorts } from '../commands/detect.js';
import { planPorts, type PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

export async function detectLive(ctx: HostContext): Promise<PortPlan> {
  const { settings: s, state } = ctx;
  return ctx.steps.run('Detect ports', async (detail) => {
    const detection = await ctx.host.run(detectPorts(ctx.paths, s.nginxInclude, [s.bluePort, s.greenPort]));
    const plan = planPorts(detection, s.bluePort, s.greenPort, s.nginxInclude);
    plan.notes.forEach((note) => ctx.log.info(note));
    state.previousPort = plan.live;
    state.servingPort = plan.live;
    detail(
      plan.live === undefined ? `first deploy: idle ${plan.idle}` : `live ${plan.live}, idle ${plan.idle}`,
    );
    return plan;
  });
}
