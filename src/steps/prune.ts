// Last: keep the newest keep-releases releases, never the live one, the one a rollback would choose now, or
// one a recorded process runs. Runs after the run's end is in the history, so the choice sees it. Not a step
// of its own: a failure here is a warning, the deploy itself is done.
import { readHistory } from '../commands/history.js';
import { pruneReleases } from '../commands/release.js';
import { chooseRollback, parseHistory } from '../history.js';
import type { HostContext } from './context.js';

export async function prune(ctx: HostContext, live: string): Promise<void> {
  try {
    const { text, releases } = await ctx.host.run(readHistory(ctx.paths));
    const choice = chooseRollback(parseHistory(text), live, releases);
    const protect = 'releaseId' in choice ? [live, choice.releaseId] : [live];
    const removed = await ctx.host.run(pruneReleases(ctx.paths, ctx.settings.keepReleases, protect));
    if (removed.length > 0) ctx.log.info(`removed old releases: ${removed.join(', ')}`);
  } catch (error) {
    ctx.log.warning(`could not prune old releases: ${(error as Error).message}`);
  }
}
