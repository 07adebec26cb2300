// What each change of routing writes, from the files as detection read them. With a bake window the include
// routes to our upstream group (new app first, old app as backup); without one, the include's own port
// changes, as it always did. A switch back restores the exact bytes both files had.
import type { FileChange } from '../commands/nginx.js';
import { switchedText } from '../nginx-include.js';
import { upstreamText } from '../nginx-upstream.js';
import type { PortPlan } from '../plan.js';

/** Only the files whose text changes. */
function changed(changes: FileChange[]): FileChange[] {
  return changes.filter((c) => c.content !== c.expected);
}

/** To the new app on the idle port; with `bake`, keeping the live one as the backup. */
export function switchChanges(plan: PortPlan, bake: boolean): FileChange[] {
  const { include, upstream } = plan.routing;
  const viaUpstream = bake || include.target?.upstream !== undefined;
  if (!viaUpstream) {
    return changed([
      { path: include.path, content: switchedText(include.target, plan.idle), expected: include.text },
    ]);
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
    { path: include.path, content: switchedText(include.target, upstream.name), expected: include.text },
  ]);
}

/** After the bake window: the new app alone. */
export function bakeEndChanges(plan: PortPlan): FileChange[] {
  const { upstream } = plan.routing;
  const during = switchChanges(plan, true).find((c) => c.path === upstream.path)?.content ?? upstream.text;
  return changed([
    { path: upstream.path, content: upstreamText(upstream.name, { primary: plan.idle }), expected: during },
  ]);
}

/** Back to the old app: both files exactly as they were before this deploy. */
export function switchBackChanges(plan: PortPlan, bake: boolean): FileChange[] {
  return switchChanges(plan, bake).map((c) => ({
    path: c.path,
    content: c.path === plan.routing.include.path ? plan.routing.include.text : plan.routing.upstream.text,
    expected: c.content,
  }));
}
