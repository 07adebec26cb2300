// Inputs before connecting: a bad input fails the step with a clear ::error:: naming the input, before anything connects.
// The bundled action (dist/index.js) runs as the runner runs it, with host/port (and jump-host) pointing at
// plain TCP servers on 127.0.0.1 that count the connections they get: every bad input must leave them at zero.
// A control run with valid inputs proves the counters do see the action's connection.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, stopStartedActions, type ActionResult } from '../test-target/run-action.js';
import { waitUntil } from '../test-target/wait.js';
import { errors as errorLines } from './support/action.js';

/** A TCP server that counts connections and hangs up at once (so a real connection attempt fails fast). */
interface Counter {
  port: number;
  /**
   * The connections the server has accepted so far, counting every one the kernel had queued before this call
   * (a probe connection is sent behind them and awaited: connections are accepted in order).
   */
  settle(): Promise<number>;
  close(): Promise<void>;
}

async function tcpCounter(): Promise<Counter> {
  const sockets = new Set<net.Socket>();
  /** Remote ports of the accepted connections, in the order they were accepted. */
  const accepted: number[] = [];
  const server = net.createServer((socket) => {
    accepted.push(socket.remotePort ?? 0);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const settle = async () => {
    const probe = net.connect({ host: '127.0.0.1', port });
    probe.on('error', () => undefined);
    const probePort = await new Promise<number>((resolve) =>
      probe.once('connect', () => resolve(probe.localPort ?? 0)),
    );
    await waitUntil(`the probe connection from port ${probePort}`, () => accepted.includes(probePort));
    probe.destroy();
    return accepted.slice(0, accepted.indexOf(probePort)).length;
  };
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        resolve();
      });
    });
  return { port, settle, close };
}

let dir: string;
let key: string;
let encryptedKey: string;
let hostKeyLine: (port: number) => string;
let jar: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgd-preflight-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', join(dir, 'key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right phrase', '-C', '', '-f', join(dir, 'enc')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', join(dir, 'host')]);
  key = readFileSync(join(dir, 'key'), 'utf8');
  encryptedKey = readFileSync(join(dir, 'enc'), 'utf8');
  const [type, b64] = readFileSync(join(dir, 'host.pub'), 'utf8').trim().split(/\s+/);
  hostKeyLine = (port) => `[127.0.0.1]:${port} ${type} ${b64}`;
  mkdirSync(join(dir, 'libs'));
  jar = join(dir, 'libs', 'app-1.0.jar');
  writeFileSync(jar, 'not really a jar: preflight never reads more than its hash');
  mkdirSync(join(dir, 'multi'));
  writeFileSync(join(dir, 'multi', 'a.jar'), 'a');
  writeFileSync(join(dir, 'multi', 'b.jar'), 'b');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopStartedActions);

/** Valid inputs aimed at the counters; each case spoils one (or a few). */
function baseInputs(port: number): Record<string, string> {
  return {
    host: '127.0.0.1',
    port: String(port),
    username: 'deploy',
    'private-key': key,
    'known-hosts': hostKeyLine(port),
    jar,
    'connect-timeout': '5',
  };
}

interface Case {
  name: string;
  /** Inputs to override; `port` and `jumpPort` are the counters' ports. */
  inputs: (ports: { port: number; jumpPort: number }) => Record<string, string>;
  /** The inputs the ::error:: must name. */
  names: string[];
  /** Optional text the error must contain (the fix). */
  says?: RegExp;
}

const cases: Case[] = [
  // ports
  { name: 'port 0', inputs: () => ({ port: '0' }), names: ['port'], says: /from 1 to 65535/ },
  { name: 'port 65536', inputs: () => ({ port: '65536' }), names: ['port'] },
  { name: 'port not a number', inputs: () => ({ port: 'ssh' }), names: ['port'] },
  {
    name: 'host:port out of range',
    inputs: () => ({ host: '127.0.0.1:70000' }),
    names: ['host'],
    says: /port out of range/,
  },
  { name: 'blue-port 70000', inputs: () => ({ 'blue-port': '70000' }), names: ['blue-port'] },
  { name: 'green-port negative', inputs: () => ({ 'green-port': '-1' }), names: ['green-port'] },
  {
    name: 'blue-port equal to green-port',
    inputs: () => ({ 'blue-port': '9000', 'green-port': '9000' }),
    names: ['green-port'],
    says: /must differ from blue-port/,
  },
  // hosts and users
  { name: 'host empty', inputs: () => ({ host: '' }), names: ['host'], says: /is required/ },
  { name: 'host like an option', inputs: () => ({ host: '-oProxyCommand=x' }), names: ['host'] },
  { name: 'username with a shell character', inputs: () => ({ username: 'deploy;id' }), names: ['username'] },
  // the jar
  {
    name: 'jar glob matching no file',
    inputs: () => ({ jar: join(dir, 'libs', '*.war') }),
    names: ['jar'],
    says: /matches no file/,
  },
  {
    name: 'jar glob matching several files',
    inputs: () => ({ jar: join(dir, 'multi', '*.jar') }),
    names: ['jar'],
    says: /matches 2 files; it must match exactly one/,
  },
  // keys
  {
    name: 'private-key empty',
    inputs: () => ({ 'private-key': '' }),
    names: ['private-key'],
    says: /is required/,
  },
  {
    name: 'private-key not a key',
    inputs: () => ({ 'private-key': 'this is not a private key' }),
    names: ['private-key'],
    says: /not a usable private key/,
  },
  {
    name: 'private-key cut short',
    inputs: () => ({ 'private-key': key.slice(0, Math.floor(key.length / 2)) }),
    names: ['private-key'],
  },
  {
    name: 'encrypted private-key without passphrase',
    inputs: () => ({ 'private-key': encryptedKey }),
    names: ['private-key'],
    says: /is encrypted: give its passphrase/,
  },
  {
    name: 'encrypted private-key with the wrong passphrase',
    inputs: () => ({ 'private-key': encryptedKey, passphrase: 'wrong phrase' }),
    names: ['passphrase'],
    says: /does not open the private key/,
  },
  // host keys
  {
    name: 'known-hosts garbage',
    inputs: () => ({ 'known-hosts': 'garbage' }),
    names: ['known-hosts'],
    says: /paste lines as ssh-keyscan prints them/,
  },
  {
    name: 'known-hosts with bad base64',
    inputs: ({ port }) => ({ 'known-hosts': `[127.0.0.1]:${port} ssh-ed25519 !!notbase64!!` }),
    names: ['known-hosts'],
    says: /not valid base64/,
  },
  {
    name: 'known-hosts holding a fingerprint',
    inputs: () => ({ 'known-hosts': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' }),
    names: ['known-hosts'],
    says: /host-fingerprint/,
  },
  {
    name: 'host-fingerprint in MD5 form',
    inputs: () => ({
      'known-hosts': '',
      'host-fingerprint': 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
    }),
    names: ['host-fingerprint'],
    says: /MD5 fingerprints are not supported/,
  },
  {
    name: 'no known-hosts and no host-fingerprint',
    inputs: () => ({ 'known-hosts': '' }),
    names: ['known-hosts'],
    says: /ssh-keyscan/,
  },
  {
    name: 'strict-host-key-checking not a boolean',
    inputs: () => ({ 'strict-host-key-checking': 'maybe' }),
    names: ['strict-host-key-checking'],
  },
  // timeouts and counts
  {
    name: 'connect-timeout not a number',
    inputs: () => ({ 'connect-timeout': 'abc' }),
    names: ['connect-timeout'],
  },
  {
    name: 'connect-timeout negative',
    inputs: () => ({ 'connect-timeout': '-5' }),
    names: ['connect-timeout'],
  },
  { name: 'connect-timeout zero', inputs: () => ({ 'connect-timeout': '0' }), names: ['connect-timeout'] },
  {
    name: 'health-timeout not a number',
    inputs: () => ({ 'health-timeout': 'ten' }),
    names: ['health-timeout'],
  },
  { name: 'health-timeout negative', inputs: () => ({ 'health-timeout': '-1' }), names: ['health-timeout'] },
  { name: 'health-interval zero', inputs: () => ({ 'health-interval': '0' }), names: ['health-interval'] },
  { name: 'drain-timeout negative', inputs: () => ({ 'drain-timeout': '-1' }), names: ['drain-timeout'] },
  { name: 'stop-timeout with a unit', inputs: () => ({ 'stop-timeout': '30s' }), names: ['stop-timeout'] },
  {
    name: 'lock-timeout in exponent form',
    inputs: () => ({ 'lock-timeout': '1e3' }),
    names: ['lock-timeout'],
  },
  { name: 'keep-releases zero', inputs: () => ({ 'keep-releases': '0' }), names: ['keep-releases'] },
  { name: 'batch-size fractional', inputs: () => ({ 'batch-size': '1.5' }), names: ['batch-size'] },
  // remote paths
  {
    name: 'remote-dir relative',
    inputs: () => ({ 'remote-dir': 'opt/app' }),
    names: ['remote-dir'],
    says: /must be an absolute path/,
  },
  { name: 'remote-dir with ..', inputs: () => ({ 'remote-dir': '/opt/../etc' }), names: ['remote-dir'] },
  { name: 'remote-dir the root', inputs: () => ({ 'remote-dir': '/' }), names: ['remote-dir'] },
  { name: 'remote-dir with a newline', inputs: () => ({ 'remote-dir': '/opt/a\nb' }), names: ['remote-dir'] },
  {
    name: 'nginx-include relative',
    inputs: () => ({ 'nginx-include': 'conf.d/service-url.inc' }),
    names: ['nginx-include'],
  },
  {
    name: 'nginx-config relative',
    inputs: () => ({ 'nginx-config': 'nginx.conf' }),
    names: ['nginx-config'],
  },
  // choices
  {
    name: 'sudo unknown',
    inputs: () => ({ sudo: 'sometimes' }),
    names: ['sudo'],
    says: /auto, always, never/,
  },
  {
    name: 'nginx-reload unknown',
    inputs: () => ({ 'nginx-reload': 'restart' }),
    names: ['nginx-reload'],
    says: /auto, systemctl, service, signal/,
  },
  { name: 'await-stop not a boolean', inputs: () => ({ 'await-stop': 'perhaps' }), names: ['await-stop'] },
  // URLs, words, env, release id
  {
    name: 'health-path relative',
    inputs: () => ({ 'health-path': 'actuator/health' }),
    names: ['health-path'],
  },
  { name: 'health-path with a space', inputs: () => ({ 'health-path': '/a b' }), names: ['health-path'] },
  {
    name: 'verify-url not http',
    inputs: () => ({ 'verify-url': 'ftp://127.0.0.1/' }),
    names: ['verify-url'],
  },
  { name: 'app-args unterminated quote', inputs: () => ({ 'app-args': '--a="b' }), names: ['app-args'] },
  { name: 'java-opts unterminated quote', inputs: () => ({ 'java-opts': "-Dx='y" }), names: ['java-opts'] },
  { name: 'env line without =', inputs: () => ({ env: 'NOT_A_PAIR' }), names: ['env'] },
  { name: 'secret-env key not a name', inputs: () => ({ 'secret-env': '1X=y' }), names: ['secret-env'] },
  { name: 'release-id with a slash', inputs: () => ({ 'release-id': 'a/b' }), names: ['release-id'] },
  // placeholders: checked for both colours
  {
    name: 'java-opts with an unknown placeholder',
    inputs: () => ({ 'java-opts': '-Djmx={jmx}' }),
    names: ['java-opts'],
    says: /unknown placeholder \{jmx\}; known: \{port\}, \{port\+N\}, \{port-N\}, \{color\}/,
  },
  {
    name: 'app-args with a port out of range for green',
    inputs: () => ({ 'app-args': '--management.server.port={port+57455}' }),
    names: ['app-args'],
    says: /\{port\+57455\} gives 65535 for blue \(port 8080\) and 65536 for green \(port 8081\)/,
  },
  {
    name: 'health-port the same for both colours',
    inputs: () => ({ 'health-port': '9090' }),
    names: ['health-port'],
    says: /must differ between the colours/,
  },
  // the jump host is not contacted either
  {
    name: 'jump-known-hosts malformed',
    inputs: ({ jumpPort }) => ({ 'jump-host': `127.0.0.1:${jumpPort}`, 'jump-known-hosts': 'garbage' }),
    names: ['jump-known-hosts'],
  },
  {
    name: 'jump-port out of range',
    inputs: () => ({ 'jump-host': '127.0.0.1', 'jump-port': '99999' }),
    names: ['jump-port'],
  },
  // all problems at once
  {
    name: 'several bad inputs are all named in one error',
    inputs: () => ({ port: '0', sudo: 'x', 'remote-dir': 'rel', 'health-timeout': '-3' }),
    names: ['port', 'sudo', 'remote-dir', 'health-timeout'],
  },
];

interface Outcome {
  result: ActionResult;
  connections: number;
  jumpConnections: number;
}

const outcomes = new Map<string, Outcome>();
let control: Outcome;

async function runCase(inputs: (ports: { port: number; jumpPort: number }) => Record<string, string>) {
  const [target, jump] = await Promise.all([tcpCounter(), tcpCounter()]);
  try {
    const ports = { port: target.port, jumpPort: jump.port };
    const result = await runAction({ inputs: { ...baseInputs(target.port), ...inputs(ports) } });
    // Every connection the action made before it exited is counted, however late the server accepts it.
    const [connections, jumpConnections] = await Promise.all([target.settle(), jump.settle()]);
    return { result, connections, jumpConnections };
  } finally {
    await Promise.all([target.close(), jump.close()]);
  }
}

beforeAll(async () => {
  // Small parallel groups: each run is a Node process that exits after validation.
  const all: [string, Case['inputs']][] = [
    ['control', () => ({})],
    ...cases.map((c) => [c.name, c.inputs] as [string, Case['inputs']]),
  ];
  for (let i = 0; i < all.length; i += 8) {
    const group = all.slice(i, i + 8);
    const results = await Promise.all(group.map(([, inputs]) => runCase(inputs)));
    group.forEach(([name], j) => outcomes.set(name, results[j]));
  }
  control = outcomes.get('control') as Outcome;
}, 120_000);

/** The ::error:: lines, unescaped. */
const errors = (r: ActionResult) => errorLines(r).join('\n');

// Guards the counters themselves: with valid inputs the action does connect (and fails at Connect, since the
// counter is no SSH server), so a zero below really means "did not connect".
test('control: valid inputs reach the TCP server', () => {
  expect(control.result.code).not.toBe(0);
  expect(control.connections).toBeGreaterThan(0);
  expect(errors(control.result)).toMatch(/Connect failed/);
  expect(errors(control.result)).not.toMatch(/Invalid inputs/);
});

// Guards: validation of every input happens first, names the input, and stops the run before any connection.
test.each(cases)('$name: ::error:: names $names, no connection', (c) => {
  const o = outcomes.get(c.name) as Outcome;
  const message = errors(o.result);
  if (o.result.code === 0 || !message) throw new Error(`no failure for ${c.name}:\n${o.result.log}`);
  for (const name of c.names) expect(message).toContain(`- ${name}: `);
  expect(message).toMatch(c.says ?? /: /);
  expect(o.connections).toBe(0);
  expect(o.jumpConnections).toBe(0);
  expect(o.result.stdout).not.toMatch(/::group::Connect/);
  expect(o.result.summary).toMatch(/^## Blue\/green deploy failed before any host was changed/);
});
