// Which nginx layout the include holds: one `set $service_url` line (src/nginx-include.ts), or the user's own
// `upstream NAME { … }` block (src/nginx-block.ts). The deploy's plan, status and preflight all read it here, so
// they agree on what is understood; anything else is a problem in words, never a guess.
import { parseBlock, type UpstreamBlock } from './nginx-block.js';
import { isBlank, parseInclude, UNDERSTOOD_FORMS, type IncludeTarget } from './nginx-include.js';

export type IncludeLayout =
  | { kind: 'set'; target: IncludeTarget }
  | { kind: 'block'; block: UpstreamBlock }
  /** Only blank lines and comments: a first deploy writes it. */
  | { kind: 'blank' }
  | { kind: 'unknown'; problem: string };

const SET_DIRECTIVE = /^\s*set\s+\$service_url\s/m;

/** `file` names the include in a problem; `ports`: blue-port and green-port, where an upstream block's servers are. */
export function includeLayout(file: string, text: string, ports: readonly number[]): IncludeLayout {
  const forms = `the forms understood are: ${UNDERSTOOD_FORMS}`;
  const block = parseBlock(text, ports);
  if (block && SET_DIRECTIVE.test(text)) {
    return {
      kind: 'unknown',
      problem: `${file} has both a set $service_url line and an upstream block, so where it routes is ambiguous; ${forms}`,
    };
  }
  if (block && 'problem' in block) return { kind: 'unknown', problem: `${file}: ${block.problem}; ${forms}` };
  if (block) return { kind: 'block', block: block.block };
  const target = parseInclude(text);
  if (target) return { kind: 'set', target };
  if (isBlank(text)) return { kind: 'blank' };
  return { kind: 'unknown', problem: `cannot recognise where ${file} routes to; ${forms}` };
}

/** How messages name the include: a symlink by the file it points to, and the link. */
export function shownInclude(path: string, link?: string): string {
  return link === undefined ? path : `${path} (the file the symlink ${link} points to)`;
}
