// HTTP GET on a new connection, from this process or from inside a network namespace (with curl there, so
// that nothing of this module has to run in the namespace). Never throws: connection problems give status 0.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { exec } from './exec.js';

export interface HttpResult {
  /** HTTP status; 0 on a connection error/timeout (then body is the error message). */
  status: number;
  body: string;
}

export interface GetOptions {
  /** Whole-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** GET http://127.0.0.1:port/urlPath on a new connection (`Connection: close`). */
export function httpGet(port: number, urlPath: string, opts: GetOptions = {}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: HttpResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const headers = { Connection: 'close', ...(opts.headers ?? {}) };
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (e) => finish({ status: 0, body: e.message }));
      res.on('close', () => {
        if (!res.complete) finish({ status: 0, body: 'connection closed before the response was complete' });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => finish({ status: 0, body: e.message }));
    req.end();
  });
}

const STATUS_MARK = '\n--bgd-http-status:';

/**
 * The same GET run by `curl` through `wrap` (e.g. `ip netns exec NS`): for servers only reachable from inside
 * a network namespace.
 */
export async function httpGetVia(
  wrap: (file: string, args: string[]) => [string, string[]],
  port: number,
  urlPath: string,
  opts: GetOptions = {},
): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const headers = { Connection: 'close', ...(opts.headers ?? {}) };
  const args = ['-sS', '-g', '--noproxy', '*', '--max-time', String(timeoutMs / 1000)];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push('-w', `${STATUS_MARK}%{http_code}`, `http://127.0.0.1:${port}${urlPath}`);
  const r = await exec(...wrap('curl', args), { timeoutMs: timeoutMs + 10_000 });
  const at = r.stdout.lastIndexOf(STATUS_MARK);
  if (r.code !== 0 || at < 0) return { status: 0, body: r.stderr.trim() || `curl exited with ${r.code}` };
  return { status: Number(r.stdout.slice(at + STATUS_MARK.length)), body: r.stdout.slice(0, at) };
}
