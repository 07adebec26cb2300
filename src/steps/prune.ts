// Last: keep the newest keep-releases releases (never one a recorded process runs). Not a step of its own:
// a failure here is a warning, the deploy itself is done.
import { pruneReleases } from '../commands/release.js';
import type { HostContext } from './context.js';

export async function prune(ctx: HostContext, releaseId: string): Promise<void> {
  const removed = await ctx.host
    .run(pruneReleases(ctx.paths, ctx.settings.keepReleases, releaseId))
    .catch((error: unknown) => ctx.log.warning(`could not prune old releases: ${(error as Error).message}`));
  if (removed && removed.length > 0) ctx.log.info(`removed old releases: ${removed.join(', ')}`);
}
