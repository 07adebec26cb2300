// The bench's extra figures: upload throughput of a ~100 MB jar (the action's Upload step vs scp), and the cold
// start of the bundle (spawn of dist/index.js -> first TCP connection to the "host").
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { runAction, startAction, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { median, runTimed } from './report.js';

const execFileAsync = promisify(execFile);
const UPLOAD_RUNS = 3;
const COLD_START_RUNS = 5;
export const BIG_MB = 100;

/** A copy of the demo jar with an extra ~100 MB stored (incompressible) entry; each version its own bytes. */
export async function bigJar(work: string, version = 'big'): Promise<string> {
  const jar = path.join(work, `demo-${version}-${BIG_MB}mb.jar`);
  if (existsSync(jar)) return jar;
  const base = await buildDemoJar({ version });
  const tmp = await fsp.mkdtemp(path.join(work, 'big-'));
  try {
    const blob = path.join(tmp, 'blob.bin');
    const fh = await fsp.open(blob, 'w');
    for (let i = 0; i < BIG_MB; i++) await fh.write(randomBytes(1_000_000));
    await fh.close();
    const part = `${jar}.part`;
    await fsp.copyFile(base, part);
    await execFileAsync('jar', ['--update', '--no-compress', '--file', part, '-C', tmp, 'blob.bin']);
    await fsp.rename(part, jar);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return jar;
}

async function uploadRun(t: Target, jar: string, mb: number, logFile: string) {
  const r = await runAction({ inputs: targetInputs(t, { jar }) });
  writeFileSync(logFile, r.log);
  const m = /([\d.]+) MB in ([\d.]+) s \(([\d.]+) MB\/s\)/.exec(r.log);
  const login = `${t.username}@${t.host}`;
  const handshake = await runTimed('ssh', [...t.sshClientOptions(), '-p', String(t.sshPort), login, 'true']);
  const copy = `${login}:${t.remoteDir}/scp-copy.jar`;
  const scp = await runTimed('scp', [...t.sshClientOptions(), '-P', String(t.sshPort), '-q', jar, copy]);
  if (scp.code !== 0) throw new Error(`scp failed: ${scp.output}`);
  return {
    actionExit: r.code,
    actionMBps: m ? Number(m[3]) : NaN,
    actionUploadS: m ? Number(m[2]) : NaN,
    scpWallMs: Math.round(scp.durationMs),
    scpMBps: mb / (scp.durationMs / 1000),
    sshTrueMs: Math.round(handshake.durationMs),
    scpMBpsLessHandshake: mb / (Math.max(1, scp.durationMs - handshake.durationMs) / 1000),
  };
}

export async function uploadBench(work: string, logs: string) {
  const jar = await bigJar(work);
  const bytes = (await fsp.stat(jar)).size;
  const runs = [];
  for (let i = 1; i <= UPLOAD_RUNS; i++) {
    const t = await startTarget();
    try {
      runs.push(await uploadRun(t, jar, bytes / 1e6, path.join(logs, `upload-run${i}.log`)));
    } finally {
      await t.stop();
    }
  }
  return {
    bytes,
    mb: bytes / 1e6,
    runs,
    actionMBps: median(runs.map((r) => r.actionMBps)),
    scpMBps: median(runs.map((r) => r.scpMBps)),
    scpMBpsLessHandshake: median(runs.map((r) => r.scpMBpsLessHandshake)),
  };
}

/** Valid inputs aimed at a plain TCP server on port (the action connects, then fails the handshake). */
async function coldStartInputs(keyDir: string, port: number, jar: string): Promise<Record<string, string>> {
  const key = path.join(keyDir, 'id');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return {
    host: '127.0.0.1',
    port: String(port),
    username: 'deploy',
    'private-key': readFileSync(key, 'utf8'),
    'known-hosts': `[127.0.0.1]:${port} ${pub}`,
    jar,
    'remote-dir': '/tmp/bgd-bench-cold-start',
    'connect-timeout': '5',
  };
}

/** A TCP server that hangs up at once and tells when the next connection arrives. */
function connectionClock() {
  let onConnect: ((ms: number) => void) | null = null;
  const server = net.createServer((socket) => {
    onConnect?.(performance.now());
    onConnect = null;
    socket.destroy();
  });
  const next = () => new Promise<number>((resolve) => (onConnect = resolve));
  return { server, next, clear: () => (onConnect = null) };
}

function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

/** ms from the spawn of the action to its first TCP connection, or NaN after 15 s. */
async function coldStart(clock: ReturnType<typeof connectionClock>, inputs: Record<string, string>) {
  const connected = clock.next();
  const t0 = performance.now();
  const action = startAction({ inputs });
  const at = await Promise.race([connected, after(15_000, NaN)]);
  clock.clear();
  if (!(await Promise.race([action.done.then(() => true), after(10_000, false)]))) {
    action.child.kill('SIGKILL');
    await action.done;
  }
  return Number.isFinite(at) ? Math.round(at - t0) : NaN;
}

export async function coldStartBench(work: string, jar: string) {
  const keyDir = await fsp.mkdtemp(path.join(work, 'cold-'));
  const clock = connectionClock();
  const { server } = clock;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const inputs = await coldStartInputs(keyDir, port, jar);
    const samples: number[] = [];
    for (let i = 0; i < COLD_START_RUNS; i++) samples.push(await coldStart(clock, inputs));
    return { samples, medianMs: median(samples) };
  } finally {
    server.close();
    await fsp.rm(keyDir, { recursive: true, force: true });
  }
}
