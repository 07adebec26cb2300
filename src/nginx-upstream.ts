// The upstream group the action keeps in nginx's http {} context while a new version bakes: the new app first,
// the old one as `backup`, so that nginx sends every request the new app refuses (it died, it is restarting)
// to the old one, which still runs. After the bake window the group holds the new app alone.
import { posix } from 'node:path';
import { UPSTREAM_PREFIX } from './nginx-include.js';

export interface UpstreamServers {
  primary: number;
  backup?: number;
}

/** bluegreen_<include's name>: one group per include, so two apps on one host never share one. */
export function upstreamName(includePath: string): string {
  const base = posix.basename(includePath).replace(/\.[^.]*$/, '');
  return `${UPSTREAM_PREFIX}${base.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Beside the include (conf.d, which nginx.conf loads in http {} on Debian and RHEL alike). */
export function defaultUpstreamFile(includePath: string): string {
  const base = posix.basename(includePath).replace(/\.[^.]*$/, '');
  return posix.join(posix.dirname(includePath), `bluegreen-${base}.conf`);
}

export function upstreamText(name: string, servers: UpstreamServers): string {
  return [
    '# Written by the blue/green deploy action: where the include sends the traffic. Do not edit.',
    `upstream ${name} {`,
    `    server 127.0.0.1:${servers.primary};`,
    ...(servers.backup === undefined ? [] : [`    server 127.0.0.1:${servers.backup} backup;`]),
    '}',
    '',
  ].join('\n');
}

/** Only the exact text this module writes is understood; anything else is not ours to change. */
export function parseUpstream(text: string, name: string): UpstreamServers | undefined {
  const ports = [...text.matchAll(/^ {4}server 127\.0\.0\.1:(\d{1,5})(?: backup)?;$/gm)].map((m) =>
    Number(m[1]),
  );
  if (ports.length === 0) return undefined;
  const servers = ports.length > 1 ? { primary: ports[0], backup: ports[1] } : { primary: ports[0] };
  return upstreamText(name, servers) === text ? servers : undefined;
}
