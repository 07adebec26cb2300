// Fallback for hosts whose sshd forbids TCP forwarding (AllowTcpForwarding no, a common hardening): the HTTP
// check then runs on the host itself, with curl.
import { quote } from '../shell.js';
import type { HttpResult } from '../remote.js';
import { script, type RemoteCommand } from './types.js';

export const NO_CURL_EXIT = 127;

/** Prints the body, a newline, then the HTTP status; curl's own exit code on a connection failure. */
export function httpGetOnHost(url: string, timeoutMs: number): RemoteCommand<'httpOnHost'> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return {
    kind: 'httpOnHost',
    title: `GET ${url} on the host`,
    quiet: true,
    script: script(
      `command -v curl >/dev/null 2>&1 || { echo "TCP forwarding is disabled on the host and curl is not installed: allow one of them" >&2; exit ${NO_CURL_EXIT}; }`,
      `exec curl -sS --max-time ${seconds} -w '\\n%{http_code}' -- ${quote(url)}`,
    ),
    parse: parseHttpOnHost,
  };
}

/** The status is the last line; the body is everything before it. */
export function parseHttpOnHost(stdout: string): HttpResult {
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1).trim()), body: cut < 0 ? '' : stdout.slice(0, cut) };
}
