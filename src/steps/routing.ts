// What each change of routing writes, from the files as detection read them. With a bake window the include
// routes to our upstream group (new app first, old app as backup); without one, the include's own port
// changes, as it always did. An include holding the user's own upstream block is that group: only its server
// entries change, and no file of ours is written. A switch back restores the exact bytes both files had.
import type { FileChange } from '../commands/nginx.js';
import { blockText } from '../nginx-block.js';
import { switchedText } from '../nginx-include.js';
import { upstreamText } from '../nginx-upstream.js';
import type { PortPlan } from '../plan.js';

/** Only the files whose text changes. */
function changed(changes: FileChange[]): FileChange[] {
  return changes.filter((c) => c.content !== c.expected);
}

/** A change of the include: written where it is, or where its symlink points (the link is checked, and kept). */
function includeChange(
  plan: PortPlan,
  content: string | undefined,
  expected: string | undefined,
): FileChange {
  const { path, link } = plan.routing.include;
  return { path, content, expected, ...(link === undefined ? {} : { link }) };
}

/** To the new app on the idle port; with `bake`, keeping the live one as the backup. */
export function switchChanges(plan: PortPlan, bake: boolean): FileChange[] {
  const { include, upstream } = plan.routing;
  if (include.block && include.text !== undefined) {
    const servers =
      bake && plan.live !== undefined ? { primary: plan.idle, backup: plan.live } : { primary: plan.idle };
    return changed([includeChange(plan, blockText(include.text, include.block, servers), include.text)]);
  }
  const viaUpstream = bake || include.target?.upstream !== undefined;
  if (!viaUpstream) {
    return changed([includeChange(plan, switchedText(include.target, plan.idle), include.text)]);
  }
  // No backup on a first deploy: plan.live is undefined.
  const servers = bake ? { primary: plan.idle, backup: plan.live } : { primary: plan.idle };
  return changed([
    {
      path: upstream.path,
      content: upstreamText(upstream.name, servers),
      expected: upstream.text,
      mustLoad: true,
    },
    includeChange(plan, switchedText(include.target, upstream.name), include.text),
  ]);
}

/** After the bake window: the new app alone. */
export function bakeEndChanges(plan: PortPlan): FileChange[] {
  const { include, upstream } = plan.routing;
  if (include.block && include.text !== undefined) {
    const during = switchChanges(plan, true)[0]?.content ?? include.text;
    const after = blockText(include.text, include.block, { primary: plan.idle });
    return changed([includeChange(plan, after, during)]);
  }
  const during = switchChanges(plan, true).find((c) => c.path === upstream.path)?.content ?? upstream.text;
  return changed([
    { path: upstream.path, content: upstreamText(upstream.name, { primary: plan.idle }), expected: during },
  ]);
}

/** Back to the old app: both files exactly as they were before this deploy. */
export function switchBackChanges(plan: PortPlan, bake: boolean): FileChange[] {
  const { include, upstream } = plan.routing;
  return switchChanges(plan, bake).map((c) =>
    c.path === include.path
      ? includeChange(plan, include.text, c.content)
      : { path: c.path, content: upstream.text, expected: c.content },
  );
}
