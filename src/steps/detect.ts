// Step 3: which port is live, which is idle, and what runs on each, from what is true on the host.
import { detectPorts } from '../commands/detect.js';
import { defaultUpstreamFile } from '../nginx-upstream.js';
import { planPorts, type PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

export async function detectLive(ctx: HostContext): Promise<PortPlan> {
  const { settings: s, state } = ctx;
  const includePath = s.nginxInclude;
  const upstreamPath = s.nginxUpstreamFile ?? defaultUpstreamFile(includePath);
  return ctx.steps.run('Detect ports', async (detail) => {
    const files = { include: includePath, upstream: upstreamPath };
    const detection = await ctx.host.run(detectPorts(ctx.paths, files, [s.bluePort, s.greenPort]));
    const plan = planPorts(detection, {
      blue: s.bluePort,
      green: s.greenPort,
      includePath,
      upstreamPath,
      bake: s.bakeTimeMs > 0,
    });
    plan.notes.forEach((note) => ctx.log.info(note));
    state.previousPort = plan.live;
    state.servingPort = plan.live;
    state.previousRelease = plan.liveRelease;
    detail(
      plan.live === undefined ? `first deploy: idle ${plan.idle}` : `live ${plan.live}, idle ${plan.idle}`,
    );
    return plan;
  });
}
