// The nginx include as the user wrote it: `set $service_url <target>;`, where the target names the app's port
// (`http://127.0.0.1:8080`, `http://localhost:8080/`, `"http://[::1]:8080"`, or `127.0.0.1:8080` used as
// `proxy_pass http://$service_url;`), or, once the action keeps a warm backup (bake-time), the upstream group it
// manages (`http://bluegreen_service_url`). A switch changes that address and nothing else; a restore puts back
// the exact previous bytes. What cannot be recognised is an error, never a guess.

/** Where in the include the address is: the text around it, and what it names. */
export interface IncludeTarget {
  before: string;
  after: string;
  /** `host:port`, or the name of an upstream group of ours. */
  address: string;
  /** The port, when the address is `host:port`. */
  port?: number;
  /** The upstream group, when the address names one of ours. */
  upstream?: string;
}

/** Upstream groups the action writes are named bluegreen_<something>; any other name is the user's own. */
export const UPSTREAM_PREFIX = 'bluegreen_';

/** `set $service_url`, an optional quote and scheme, then `host:port` (host: name, IPv4 or [IPv6]) or a name. */
const SET_LINE =
  /^(\s*set\s+\$service_url\s+["']?(?:[a-z][a-z0-9+.-]*:\/\/)?)((?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}|bluegreen_[A-Za-z0-9_]+)((?:\/[^\s;"']*)?["']?\s*;[^\n]*)$/;

export const UNDERSTOOD_FORMS =
  'set $service_url http://127.0.0.1:PORT; (any scheme, host or path; quoted or not), set $service_url 127.0.0.1:PORT; used as proxy_pass http://$service_url;, the upstream group the action writes (set $service_url http://bluegreen_NAME;), or one upstream NAME { server 127.0.0.1:PORT …; } block used as proxy_pass http://NAME; (servers on blue-port or green-port at 127.0.0.1, localhost or [::1]; one of them may be a backup)';

/** The one `set $service_url` line we understand; undefined when there is none or more than one. */
export function parseInclude(text: string): IncludeTarget | undefined {
  const found: IncludeTarget[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const m = SET_LINE.exec(line);
    if (m) found.push(target(text, offset + m[1].length, m[2]));
    offset += line.length + 1;
  }
  const [one] = found;
  if (found.length !== 1) return undefined;
  if (one.port !== undefined && (one.port < 1 || one.port > 65535)) return undefined;
  return one;
}

function target(text: string, start: number, address: string): IncludeTarget {
  const around = { before: text.slice(0, start), after: text.slice(start + address.length), address };
  if (address.startsWith(UPSTREAM_PREFIX)) return { ...around, upstream: address };
  return { ...around, port: Number(address.slice(address.lastIndexOf(':') + 1)) };
}

/** The same bytes with only the address changed. */
export function withAddress(target: IncludeTarget, address: string): string {
  return `${target.before}${address}${target.after}`;
}

/** The same bytes with only the port changed (an address `host:port`). */
export function withPort(target: IncludeTarget, port: number): string {
  return withAddress(target, target.address.replace(/:\d+$/, `:${port}`));
}

const FRESH_COMMENT = '# Written by the blue/green deploy action; it changes only the address below.';

/** A first deploy's include, when there is none yet: straight to a port, or to our upstream group. */
export function freshInclude(address: string): string {
  const url = /^\d+$/.test(address) ? `127.0.0.1:${address}` : address;
  return `${FRESH_COMMENT}\nset $service_url http://${url};\n`;
}

/** Includes written by versions before 0.2 carry a comment naming a release and port, stale after a switch. */
const LEGACY_COMMENT = /^# Written by the blue\/green deploy action: .*\n/;

/** The include routed to `address` (a port, or an upstream name): only the address changes. */
export function switchedText(target: IncludeTarget | undefined, address: number | string): string {
  if (!target) return freshInclude(String(address));
  const text = typeof address === 'number' ? withPort(target, address) : withAddress(target, address);
  return text.replace(LEGACY_COMMENT, `${FRESH_COMMENT}\n`);
}

/** Is this include text empty for our purpose (no directives at all, only blank lines and comments)? */
export function isBlank(text: string): boolean {
  return text.split('\n').every((line) => /^\s*(#.*)?$/.test(line));
}
