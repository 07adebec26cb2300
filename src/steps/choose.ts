// Rollback, instead of step 4 (Upload): the release to go back to, from the host's history and its release
// folders (src/history.ts chooseRollback), its jar checked against the sha256 recorded at its upload. Nothing
// is uploaded.
import { readHistory, verifyRelease } from '../commands/history.js';
import { chooseRollback, parseHistory } from '../history.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

/** `named`: the release asked for (release-id, or the one a fleet rollback returns to). */
export async function chooseRelease(ctx: HostContext, plan: PortPlan, named?: string): Promise<string> {
  return ctx.steps.run('Choose release', async (detail) => {
    const { text, releases } = await ctx.host.run(readHistory(ctx.paths));
    const choice = chooseRollback(parseHistory(text), plan.liveRelease, releases, named);
    if ('error' in choice) throw new Error(choice.error);
    const sha256 = await ctx.host.run(verifyRelease(ctx.paths, choice.releaseId));
    ctx.state.releaseId = choice.releaseId;
    detail(
      `${choice.releaseId} (${choice.why}); jar sha256 ${sha256.slice(0, 12)} verified on the host, nothing uploaded`,
    );
    return choice.releaseId;
  });
}
