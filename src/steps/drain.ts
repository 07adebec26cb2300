// Step 9: until the old nginx workers have exited, some requests still reach the old app: wait for them
// before checking through nginx, and before stopping the old app.
import { drainWorkers } from '../commands/drain.js';
import type { HostContext } from './context.js';

export async function drain(ctx: HostContext, oldWorkers: readonly number[]): Promise<void> {
  const { drainTimeoutMs } = ctx.settings;
  await ctx.steps.run('Drain nginx', async (detail) => {
    const drained = await ctx.host.run(drainWorkers(oldWorkers, drainTimeoutMs));
    if (drained.timedOut) {
      ctx.log.warning(`old nginx workers were still busy after drain-timeout (${drainTimeoutMs / 1000} s)`);
    }
    detail(`${oldWorkers.length} old nginx workers finished their requests in ${drained.ms} ms`);
  });
}
