// Step 12: stop the old app, now that no nginx worker routes to it. By default the step ends once it has
// closed its port (its graceful shutdown may take its whole grace period; a detached killer SIGKILLs it at
// stop-timeout); with await-stop it waits for the exit.
import { stopApp, type StopOutcome } from '../commands/app.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';
import { unitFor } from './supervise.js';

export async function stopOld(ctx: HostContext, plan: PortPlan): Promise<void> {
  const { oldProcess: old, live } = plan;
  if (!old || live === undefined) {
    ctx.steps.skip('Stop old app', 'no previous app of ours');
    return;
  }
  const { stopTimeoutMs, awaitStop } = ctx.settings;
  await ctx.steps.run('Stop old app', async (detail) => {
    // Supervised, the old app is stopped (and its instance disabled) through systemd, which would restart it.
    const app = { pid: old.pid, start: old.start, unit: unitFor(ctx, live) };
    const stopped = await ctx.host.run(
      stopApp(ctx.paths, { app, port: live, timeoutMs: stopTimeoutMs, untilClosed: !awaitStop }),
    );
    detail(`old pid ${old.pid} on port ${live}: ${describeStop(stopped, stopTimeoutMs)}`);
  });
}

export function describeStop(stopped: StopOutcome, timeoutMs: number): string {
  const seconds = (stopped.ms / 1000).toFixed(2);
  switch (stopped.how) {
    case 'exited':
      return `exited after SIGTERM in ${seconds} s`;
    case 'closed':
      return `closed its port ${seconds} s after SIGTERM; still finishing, SIGKILL at stop-timeout if needed`;
    case 'killed':
      return `SIGKILLed: still running stop-timeout (${timeoutMs / 1000} s) after SIGTERM`;
    case 'gone':
      return 'was already gone';
  }
}
