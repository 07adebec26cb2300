// Asking a server for its host keys: handshakes against a real SSH server (ssh2's, in this process, on
// 127.0.0.1, with keys made by ssh-keygen), and servers that close or never answer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { fingerprint } from '../src/host-key.js';
import { offeredKeys, probeHostKeys } from '../src/host-key/probe.js';
import { freePort, genKeys, type TestKeys } from './support/test-keys.js';

let dir: string;
let keys: TestKeys;
let server: ssh2.Server;
let port: number;
/** Usernames that tried to authenticate, and the host keys the server was asked for. */
const authAttempts: string[] = [];

function listen(srv: ssh2.Server | NetServer): Promise<number> {
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

function close(srv: ssh2.Server | NetServer): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'host-key-probe-'));
  keys = genKeys(dir);
  const hostKeys = [keys.ed25519, keys.ecdsa, keys.rsa].map((k) => readFileSync(k.file));
  server = new ssh2.Server({ hostKeys }, (client) => {
    client.on('authentication', (ctx) => {
      authAttempts.push(ctx.username);
      ctx.reject();
    });
    client.on('error', () => undefined);
  });
  port = await listen(server);
});

afterAll(async () => {
  await close(server);
  rmSync(dir, { recursive: true, force: true });
});

const ed25519 = (): { keyType: string; fingerprint: string } => ({
  keyType: 'ssh-ed25519',
  fingerprint: keys.ed25519.fp,
});

describe('probeHostKeys against a real SSH server', () => {
  test('reports every key family the server has, in family order, and never authenticates', async () => {
    // no timeoutMs: the default (10 s) applies
    await expect(probeHostKeys({ host: '127.0.0.1', port })).resolves.toEqual([
      ed25519(),
      { keyType: 'ecdsa-sha2-nistp256', fingerprint: keys.ecdsa.fp },
      { keyType: 'ssh-rsa', fingerprint: keys.rsa.fp },
    ]);
    expect(authAttempts).toEqual([]);
  });

  test('over a given stream: the one key the server picks, not a connection of its own', async () => {
    const sock = connect(port, '127.0.0.1');
    try {
      // host and port are only names here: nothing listens on this port
      const closed = await freePort();
      await expect(
        probeHostKeys({ host: '127.0.0.1', port: closed, sock, timeoutMs: 5000 }),
      ).resolves.toEqual([ed25519()]);
      expect(authAttempts).toEqual([]);
      // an error of the stream after the answer is swallowed, not thrown at whoever emits it
      expect(sock.emit('error', new Error('late error of the jump host channel'))).toBe(true);
    } finally {
      sock.destroy();
    }
  });
});

describe('probeHostKeys never throws and never waits past its answer', () => {
  let sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets) s.destroy();
    sockets = [];
  });

  async function withServer(onSocket: (s: Socket) => void, run: (p: number) => Promise<void>): Promise<void> {
    const srv = createServer((s) => {
      sockets.push(s);
      onSocket(s);
    });
    try {
      await run(await listen(srv));
    } finally {
      for (const s of sockets) s.destroy();
      await close(srv);
    }
  }

  test('a server that closes after its greeting: [] at once, not at the timeout', async () => {
    await withServer(
      (s) => s.end('SSH-2.0-closing\r\n'),
      async (p) => {
        const started = Date.now();
        await expect(probeHostKeys({ host: '127.0.0.1', port: p, timeoutMs: 20_000 })).resolves.toEqual([]);
        expect(Date.now() - started).toBeLessThan(5000);
      },
    );
  });

  test('a server that never answers: [] at timeoutMs', async () => {
    await withServer(
      () => undefined,
      async (p) => {
        const started = Date.now();
        await expect(probeHostKeys({ host: '127.0.0.1', port: p, timeoutMs: 300 })).resolves.toEqual([]);
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(250);
        expect(elapsed).toBeLessThan(5000);
      },
    );
  });

  test('a port that cannot be connected to at all: [] at once', async () => {
    const started = Date.now();
    await expect(probeHostKeys({ host: '127.0.0.1', port: 70_000, timeoutMs: 10_000 })).resolves.toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('offeredKeys', () => {
  test('each key once, in the order got; missing and malformed keys skipped', () => {
    const junk = Buffer.from('junk');
    expect(
      offeredKeys([undefined, keys.rsa.blob, junk, keys.ed25519.blob, Buffer.from(keys.rsa.blob), undefined]),
    ).toEqual([
      { keyType: 'ssh-rsa', fingerprint: keys.rsa.fp },
      { keyType: 'ssh-ed25519', fingerprint: fingerprint(keys.ed25519.blob) },
    ]);
    expect(offeredKeys([keys.ed25519.blob, keys.other.blob])).toEqual([
      ed25519(),
      { keyType: 'ssh-ed25519', fingerprint: keys.other.fp },
    ]);
    expect(offeredKeys([])).toEqual([]);
    expect(offeredKeys([undefined, junk])).toEqual([]);
  });
});
