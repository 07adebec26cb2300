// mode status: where nginx routes, read with the deploy's own parsers (src/nginx-include.ts and
// src/nginx-upstream.ts). Where the deploy would stop with an error, status says why and goes on.
import type { Detection, DetectFiles, FileRead } from './commands/detect.js';
import { parseInclude } from './nginx-include.js';
import { includeLayout, shownInclude } from './nginx-layout.js';
import { parseUpstream, upstreamName } from './nginx-upstream.js';

export interface NginxStatus {
  include: string;
  /** The include is a symlink: the file it points to (the one a deploy writes). */
  linksTo?: string;
  upstream: string;
  /** The port nginx sends the traffic to. */
  port?: number;
  /** The port nginx falls back to (the action's upstream group during a deploy's bake window). */
  backup?: number;
  /** The include names the port itself (a set line, or its own upstream block), or the action's upstream group. */
  via?: 'include' | 'upstream';
  /** The release our app on that port runs. */
  release?: string;
  /** Whether anything listens on that port. */
  listening?: boolean;
  /** Why where nginx routes cannot be told. */
  problem?: string;
}

type Routed = Pick<NginxStatus, 'port' | 'backup' | 'via'> | { problem: string };

function unusable(file: FileRead, path: string): string | undefined {
  if (file.state === 'missing') return `${path} does not exist`;
  if (file.state === 'unreadable') return `${path} exists but the deploy user cannot read it`;
  if (file.state === 'notText') return `${path} is not UTF-8 text`;
  return undefined;
}

function routed(d: Detection, files: DetectFiles, ports: readonly number[], name: string): Routed {
  if (d.includeLink !== undefined && (d.includeLink === '' || d.include.state === 'missing')) {
    return {
      problem: `${files.include} is a symlink to ${d.includeLink || 'a path that cannot be resolved'}, which does not exist`,
    };
  }
  const shown = shownInclude(
    d.includeLink ?? files.include,
    d.includeLink === undefined ? undefined : files.include,
  );
  if (d.include.state !== 'present') return { problem: unusable(d.include, shown) ?? '' };
  const layout = includeLayout(shown, d.include.text, ports);
  if (layout.kind === 'unknown') return { problem: layout.problem };
  if (layout.kind === 'blank') return { problem: `${shown} has no set $service_url line` };
  if (layout.kind === 'block') {
    const { primary, backup } = layout.block;
    return { port: primary.port, ...(backup ? { backup: backup.port } : {}), via: 'include' };
  }
  const target = layout.target;
  if (target.port !== undefined) return { port: target.port, via: 'include' };
  const via = `the include routes to upstream ${target.upstream}`;
  if (target.upstream !== name) return { problem: `${via}, but this include's group is ${name}` };
  const problem = unusable(d.upstream, files.upstream);
  if (problem !== undefined) return { problem: `${via}, but ${problem}` };
  const servers = d.upstream.state === 'present' ? parseUpstream(d.upstream.text, name) : undefined;
  if (!servers) return { problem: `${via}, but ${files.upstream} is not as this action wrote it` };
  const backup = servers.backup === undefined ? {} : { backup: servers.backup };
  return { port: servers.primary, ...backup, via: 'upstream' };
}

/** `ports`: blue-port and green-port, where an upstream block of the include must have its servers. */
export function nginxStatus(
  d: Detection,
  files: DetectFiles,
  ports: readonly number[],
  notes: string[],
): NginxStatus {
  const name = upstreamName(files.include);
  const r = routed(d, files, ports, name);
  // A file of ours that the include does not use, but which a deploy would refuse to overwrite.
  const stray = d.upstream.state === 'present' && !parseUpstream(d.upstream.text, name);
  const usesUpstream = d.include.state === 'present' && parseInclude(d.include.text)?.upstream !== undefined;
  if (stray && !usesUpstream) {
    notes.push(
      `${files.upstream} is not as this action wrote it (upstream ${name}): a deploy stops until it is put back or removed`,
    );
  }
  const link = d.includeLink ? { linksTo: d.includeLink } : {};
  const status: NginxStatus = { include: files.include, ...link, upstream: files.upstream, ...r };
  if (status.port !== undefined) {
    const state = d.ports.get(status.port);
    status.listening = state?.listening ?? false;
    if (state?.ours) status.release = state.ours.release;
  }
  return status;
}
