// Talking to a booted host from the test process over its veth address: an HTTP GET (through its nginx) and the
// SSH banner (is sshd up?). Never throw: a connection problem gives status 0 / false.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import net from 'node:net';
import type { GetOptions, HttpResult } from '../http.js';

/** GET http://address:port/urlPath on a new connection (`Connection: close`). */
export function httpGetAt(
  address: string,
  port: number,
  urlPath: string,
  opts: GetOptions = {},
): Promise<HttpResult> {
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
    const req = http.request({ host: address, port, path: urlPath, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (e) => finish({ status: 0, body: e.message }));
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => finish({ status: 0, body: e.message }));
    req.end();
  });
}

/** True when something on address:port greets with an SSH identification line. */
export function sshBanner(address: string, port = 22, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let data = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) finish(data.startsWith('SSH-'));
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(data.startsWith('SSH-')));
  });
}
