// TCP ports on 127.0.0.1: who listens (from /proc/net/tcp, so it works for sockets in other network namespaces
// too), free ports for a target, and waiting for a server to listen.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readQuiet } from './exec.js';
import { waitUntil } from './wait.js';

/** True when /proc/net/tcp{,6} text shows a socket in LISTEN state on port. */
export function listensIn(text: string, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return text.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[0] === 'sl') return false;
    const local = cols[1];
    return cols[3] === '0A' && local.slice(local.lastIndexOf(':') + 1) === hex;
  });
}

/** True when some socket of this network namespace is in LISTEN state on that TCP port. */
export function isListening(port: number): boolean {
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((file) => listensIn(readQuiet(file), port));
}

/** True when a TCP connection to host:port is accepted within a second. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Ports handed to live targets of this process, so two targets never share one. */
const reservedPorts = new Set<number>();

/**
 * n distinct free ports on 127.0.0.1, reserved until releasePorts(). They are picked below the kernel's
 * ephemeral range (ip_local_port_range), so an outgoing connection's source port can never occupy one of them
 * before the app binds it; falls back to ports the kernel hands out if that range is unusable.
 */
export async function freePorts(n: number): Promise<number[]> {
  const range = readQuiet('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
  const low = range.length === 2 && Number.isInteger(range[0]) ? range[0] : 32768;
  const minPort = 10000;
  const ports: number[] = [];
  const usable = (port: number) => !ports.includes(port) && !reservedPorts.has(port);
  for (let tries = 0; low - minPort >= 1000 && tries < 200 && ports.length < n; tries++) {
    const port = minPort + Math.floor(Math.random() * (low - minPort));
    if (usable(port) && !isListening(port) && (await canBind(port))) ports.push(port);
  }
  while (ports.length < n) {
    const port = await kernelPort();
    if (usable(port)) ports.push(port);
  }
  for (const p of ports) reservedPorts.add(p);
  return ports;
}

/** Gives ports back for later targets. */
export function releasePorts(ports: number[]): void {
  for (const p of ports) reservedPorts.delete(p);
}

/**
 * Waits until `up(port)` (by default: something accepts TCP connections on 127.0.0.1:port); fails with the log
 * if the server exits first or does not listen within timeoutMs.
 */
export async function waitForPort(
  port: number,
  server: { child: ChildProcess; what: string; logFile: string },
  timeoutMs: number,
  up: (port: number) => Promise<boolean> = (p) => canConnect(p),
): Promise<void> {
  const { child, what, logFile } = server;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  await waitUntil(
    () => `${what} to listen on port ${port}:\n${readQuiet(logFile)}`,
    async () => {
      if (exited()) {
        throw new Error(
          `${what} exited (${child.exitCode ?? child.signalCode}) before listening:\n${readQuiet(logFile)}`,
        );
      }
      return up(port);
    },
    { timeoutMs },
  );
}

/**
 * In `ss -Htin state established '( sport = :PORT )'` output: the connections that have received bytes and whose
 * receive queue is empty, i.e. whose request the server has read (a request in flight at the server).
 */
export function readConnections(ssOutput: string): number {
  const lines = ssOutput.split('\n');
  let n = 0;
  lines.forEach((line, i) => {
    if (/^\s/.test(line) || line.trim() === '') return; // info lines belong to the socket line before them
    const recvQ = Number(line.trim().split(/\s+/)[0]);
    const received = Number(/\bbytes_received:(\d+)/.exec(lines.at(i + 1) ?? '')?.[1] ?? 0);
    if (recvQ === 0 && received > 0) n++;
  });
  return n;
}

/** The ss arguments for readConnections. */
export function ssArgs(port: number): string[] {
  return ['-Htin', 'state', 'established', `( sport = :${port} )`];
}
