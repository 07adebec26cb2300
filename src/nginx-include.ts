// The nginx include as the user wrote it: `set $service_url <target>;`, where the target names the app's port
// (`http://127.0.0.1:8080`, `http://localhost:8080/`, `"http://[::1]:8080"`, or `127.0.0.1:8080` used as
// `proxy_pass http://$service_url;`). A switch changes the port digits of that one line and nothing else; a
// restore puts back the exact previous bytes. What cannot be recognised is an error, never a guess.

/** Where in the include the port is: the text before and after its digits. */
export interface IncludeTarget {
  port: number;
  before: string;
  after: string;
}

/** `set $service_url`, an optional quote and scheme, a host (name, IPv4 or [IPv6]), `:`, the port. */
const SET_LINE =
  /^(\s*set\s+\$service_url\s+["']?(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):)(\d{1,5})((?:\/[^\s;"']*)?["']?\s*;[^\n]*)$/;

export const UNDERSTOOD_FORMS =
  'set $service_url http://127.0.0.1:PORT; (any scheme, host or path; quoted or not), or set $service_url 127.0.0.1:PORT; used as proxy_pass http://$service_url;';

/** The one `set $service_url` line with a port; undefined when there is none or more than one. */
export function parseInclude(text: string): IncludeTarget | undefined {
  const lines = text.split('\n');
  const found: IncludeTarget[] = [];
  let offset = 0;
  for (const line of lines) {
    const m = SET_LINE.exec(line);
    if (m) {
      const start = offset + m[1].length;
      const end = start + m[2].length;
      found.push({ port: Number(m[2]), before: text.slice(0, start), after: text.slice(end) });
    }
    offset += line.length + 1;
  }
  return found.length === 1 && found[0].port > 0 && found[0].port < 65536 ? found[0] : undefined;
}

/** The same bytes with only the port changed. */
export function withPort(target: IncludeTarget, port: number): string {
  return `${target.before}${port}${target.after}`;
}

/** A first deploy's include, when there is none yet. */
export function freshInclude(port: number): string {
  return `# Written by the blue/green deploy action; it changes only the port below.\nset $service_url http://127.0.0.1:${port};\n`;
}

/** Is this include text empty for our purpose (no directives at all, only blank lines and comments)? */
export function isBlank(text: string): boolean {
  return text.split('\n').every((line) => /^\s*(#.*)?$/.test(line));
}

/** Includes written by versions before 0.2 carry a comment naming a release and port, stale after a switch. */
const LEGACY_COMMENT = /^# Written by the blue\/green deploy action: .*\n/;

/** The include routed to `port`: only the port changed (and an old version's stale comment replaced). */
export function switchedText(target: IncludeTarget | undefined, port: number): string {
  if (!target) return freshInclude(port);
  return withPort(target, port).replace(LEGACY_COMMENT, freshInclude(port).split('\n')[0] + '\n');
}
