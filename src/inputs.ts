// action.yml inputs -> one typed, validated Settings object. Every problem is reported at once, naming the
// input and the fix, before any connection is attempted.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as glob from '@actions/glob';
import ssh2 from 'ssh2';
import { parseFingerprints, parseKnownHosts, type KnownHostEntry } from './host-key.js';
import { splitWords } from './shell.js';

export type SudoMode = 'auto' | 'always' | 'never';
export type ReloadMode = 'auto' | 'systemctl' | 'service' | 'signal';

export interface HostTarget {
  host: string;
  port: number;
}

/** A bastion the targets are reached through (OpenSSH's ProxyJump). */
export interface JumpHost extends HostTarget {
  username: string;
  privateKey: string;
  passphrase?: string;
  knownHosts: KnownHostEntry[];
  hostFingerprints: string[];
}

export interface Settings {
  targets: HostTarget[];
  jump?: JumpHost;
  batchSize: number;
  username: string;
  privateKey: string;
  passphrase?: string;
  knownHosts: KnownHostEntry[];
  hostFingerprints: string[];
  strictHostKeyChecking: boolean;
  connectTimeoutMs: number;

  jarPath: string;
  jarSha256: string;
  releaseId: string;
  remoteDir: string;
  keepReleases: number;

  bluePort: number;
  greenPort: number;
  java: string;
  javaOpts: string[];
  appArgs: string[];
  env: [string, string][];
  secretEnv: [string, string][];

  healthPath: string;
  healthExpect: string;
  healthTimeoutMs: number;
  healthIntervalMs: number;

  nginxInclude: string;
  nginxConfig?: string;
  nginxReload: ReloadMode;
  verifyUrl?: string;
  sudo: SudoMode;

  drainTimeoutMs: number;
  stopTimeoutMs: number;
  awaitStop: boolean;
  lockTimeoutMs: number;
}

/** Reads one input as the runner passes it (empty string when unset). */
export type InputReader = (name: string) => string;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid inputs:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Collects problems so that one run reports all of them. */
class Checker {
  readonly problems: string[] = [];
  constructor(private readonly read: InputReader) {}

  raw(name: string): string {
    return this.read(name).trim();
  }

  fail(name: string, message: string): undefined {
    this.problems.push(`${name}: ${message}`);
    return undefined;
  }

  required(name: string): string {
    const value = this.raw(name);
    if (value === '') this.fail(name, 'is required');
    return value;
  }

  number(name: string, opts: { min: number; max?: number; integer?: boolean }, fallback: number): number {
    const text = this.raw(name);
    if (text === '') return fallback;
    const value = Number(text);
    const ok =
      /^-?\d+(\.\d+)?$/.test(text) &&
      value >= opts.min &&
      (opts.max === undefined || value <= opts.max) &&
      (!opts.integer || Number.isInteger(value));
    if (!ok) {
      const range = opts.max === undefined ? `>= ${opts.min}` : `from ${opts.min} to ${opts.max}`;
      this.fail(name, `must be ${opts.integer ? 'a whole number' : 'a number'} ${range}, got "${text}"`);
      return fallback;
    }
    return value;
  }

  seconds(name: string, fallback: number, min = 0): number {
    return Math.round(this.number(name, { min }, fallback) * 1000);
  }

  port(name: string, fallback: number): number {
    return this.number(name, { min: 1, max: 65535, integer: true }, fallback);
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name).toLowerCase();
    if (text === '') return fallback;
    if (['true', 'yes', '1'].includes(text)) return true;
    if (['false', 'no', '0'].includes(text)) return false;
    this.fail(name, `must be true or false, got "${text}"`);
    return fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const text = this.raw(name).toLowerCase();
    if (text === '') return fallback;
    if ((choices as readonly string[]).includes(text)) return text as T;
    this.fail(name, `must be one of ${choices.join(', ')}, got "${text}"`);
    return fallback;
  }

  absolutePath(name: string, fallback: string): string {
    const value = this.raw(name) || fallback;
    if (!value.startsWith('/')) this.fail(name, `must be an absolute path on the host, got "${value}"`);
    else if (/[\0\n\r]/.test(value)) this.fail(name, 'must not contain newlines');
    else if (value.split('/').some((part) => part === '..')) this.fail(name, 'must not contain ".."');
    else if (value.replace(/\/+$/, '') === '') this.fail(name, 'must not be the root directory');
    return value.length > 1 ? value.replace(/\/+$/, '') : value;
  }

  words(name: string): string[] {
    try {
      return splitWords(this.raw(name));
    } catch (error) {
      this.fail(name, `${(error as Error).message} (quote words with ' or ")`);
      return [];
    }
  }

  envLines(name: string): [string, string][] {
    const pairs: [string, string][] = [];
    this.read(name)
      .split(/\r?\n/)
      .forEach((line, index) => {
        if (line.trim() === '' || line.trim().startsWith('#')) return;
        const eq = line.indexOf('=');
        const key = eq < 0 ? line.trim() : line.slice(0, eq).trim();
        if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
          this.fail(name, `line ${index + 1} must be KEY=VALUE with KEY made of letters, digits and _`);
          return;
        }
        pairs.push([key, line.slice(eq + 1)]);
      });
    return pairs;
  }
}

/** host, host:port or [ipv6]:port, separated by commas, spaces or newlines. */
export function parseHosts(text: string, defaultPort: number): HostTarget[] | string {
  const targets: HostTarget[] = [];
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const match =
      /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(item) ?? /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(item);
    if (!match || match[1].startsWith('-')) return `"${item}" is not a host name, IP address or host:port`;
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (!(port >= 1 && port <= 65535)) return `"${item}" has a port out of range`;
    targets.push({ host: match[1], port });
  }
  if (targets.length === 0) return 'is required';
  return targets;
}

function checkPrivateKey(c: Checker, key: string, passphrase: string | undefined, prefix = ''): void {
  if (key === '') return;
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && !passphrase) {
      c.fail(`${prefix}private-key`, `is encrypted: give its passphrase in the ${prefix}passphrase input`);
    } else if (/passphrase|decrypt|bad/i.test(parsed.message) && passphrase) {
      c.fail(`${prefix}passphrase`, `does not open the private key (${parsed.message})`);
    } else {
      c.fail(
        `${prefix}private-key`,
        `is not a usable private key (${parsed.message}); paste the whole key file`,
      );
    }
  }
}

/** A known-hosts input and a host-fingerprint input: at least one of them when strict. */
function hostKeys(c: Checker, names: { knownHosts: string; fingerprint: string }, strict: boolean) {
  let knownHosts: KnownHostEntry[] = [];
  let hostFingerprints: string[] = [];
  try {
    knownHosts = parseKnownHosts(c.raw(names.knownHosts));
  } catch (error) {
    c.fail(names.knownHosts, `${(error as Error).message}; paste lines as ssh-keyscan prints them`);
  }
  try {
    hostFingerprints = parseFingerprints(c.raw(names.fingerprint));
  } catch (error) {
    c.fail(names.fingerprint, (error as Error).message);
  }
  if (strict && c.raw(names.knownHosts) === '' && c.raw(names.fingerprint) === '') {
    c.fail(
      names.knownHosts,
      `or ${names.fingerprint} is required so the server is verified: run \`ssh-keyscan -p PORT HOST\` and ` +
        'store its output in a secret (or set strict-host-key-checking: false, not recommended)',
    );
  }
  return { knownHosts, hostFingerprints };
}

/** The jump-* inputs; user and key default to the target's. */
function readJumpHost(
  c: Checker,
  target: { username: string; privateKey: string; passphrase?: string },
  strict: boolean,
): JumpHost | undefined {
  if (c.raw('jump-host') === '') return undefined;
  const hosts = parseHosts(c.raw('jump-host'), c.port('jump-port', 22));
  if (typeof hosts === 'string' || hosts.length !== 1) {
    c.fail('jump-host', typeof hosts === 'string' ? hosts : 'must name exactly one host');
    return undefined;
  }
  const username = c.raw('jump-username') || target.username;
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(username)) c.fail('jump-username', 'is not a valid user name');
  const privateKey = c.raw('jump-private-key') || target.privateKey;
  const passphrase = c.raw('jump-passphrase') || (c.raw('jump-private-key') ? undefined : target.passphrase);
  if (c.raw('jump-private-key')) checkPrivateKey(c, privateKey, passphrase, 'jump-');
  const keys = hostKeys(c, { knownHosts: 'jump-known-hosts', fingerprint: 'jump-host-fingerprint' }, strict);
  return { ...hosts[0], username, privateKey, passphrase, ...keys };
}

async function resolveJar(c: Checker, pattern: string): Promise<string | undefined> {
  if (pattern === '') return undefined;
  const globber = await glob.create(pattern, { matchDirectories: false, implicitDescendants: false });
  const files = await globber.glob();
  if (files.length === 1) return files[0];
  if (files.length === 0) return c.fail('jar', `"${pattern}" matches no file (did the build step run?)`);
  return c.fail(
    'jar',
    `"${pattern}" matches ${files.length} files; it must match exactly one: ${files.join(', ')}`,
  );
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** A sortable, unique-enough release id: UTC time plus the jar's content hash. */
export function makeReleaseId(now: Date, sha256: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${sha256.slice(0, 12)}`;
}

export async function readSettings(read: InputReader, now = new Date()): Promise<Settings> {
  const c = new Checker(read);

  const sshPort = c.port('port', 22);
  const hosts = parseHosts(c.raw('host'), sshPort);
  const targets = typeof hosts === 'string' ? (c.fail('host', hosts), []) : hosts;
  const username = c.required('username');
  if (username !== '' && !/^[a-z_][a-z0-9_.-]*\$?$/i.test(username))
    c.fail('username', 'is not a valid user name');

  const privateKey = c.required('private-key');
  const passphrase = c.raw('passphrase') || undefined;
  checkPrivateKey(c, privateKey, passphrase);

  const strictHostKeyChecking = c.boolean('strict-host-key-checking', true);
  const { knownHosts, hostFingerprints } = hostKeys(
    c,
    { knownHosts: 'known-hosts', fingerprint: 'host-fingerprint' },
    strictHostKeyChecking,
  );
  const jump = readJumpHost(c, { username, privateKey, passphrase }, strictHostKeyChecking);

  const bluePort = c.port('blue-port', 8080);
  const greenPort = c.port('green-port', 8081);
  if (bluePort === greenPort) c.fail('green-port', `must differ from blue-port (both are ${bluePort})`);

  const healthPath = c.raw('health-path') || '/actuator/health';
  if (!/^\/[\x21-\x7e]*$/.test(healthPath)) {
    c.fail('health-path', `must be a URL path starting with / and without spaces, got "${healthPath}"`);
  }
  const verifyUrl = c.raw('verify-url') || undefined;
  if (verifyUrl !== undefined && !/^http:\/\/[A-Za-z0-9.[\]:-]+(:\d+)?(\/[\x21-\x7e]*)?$/.test(verifyUrl)) {
    c.fail(
      'verify-url',
      `must be an http:// URL as seen from the host, e.g. http://127.0.0.1/actuator/health`,
    );
  }

  const java = c.raw('java') || 'java';
  if (/[\0\n\r]/.test(java)) c.fail('java', 'must not contain newlines');
  const appArgs = c.words('app-args');
  const profiles = c.raw('spring-profiles');
  if (profiles !== '') appArgs.unshift(`--spring.profiles.active=${profiles}`);

  const batchSize = c.number('batch-size', { min: 1, integer: true }, 1);
  const jarPattern = c.required('jar');
  const settings: Omit<Settings, 'jarPath' | 'jarSha256' | 'releaseId'> = {
    targets,
    jump,
    batchSize,
    username,
    privateKey,
    passphrase,
    knownHosts,
    hostFingerprints,
    strictHostKeyChecking,
    connectTimeoutMs: c.seconds('connect-timeout', 20, 1),
    remoteDir: c.absolutePath('remote-dir', '/opt/app'),
    keepReleases: c.number('keep-releases', { min: 1, integer: true }, 5),
    bluePort,
    greenPort,
    java,
    javaOpts: c.words('java-opts'),
    appArgs,
    env: c.envLines('env'),
    secretEnv: c.envLines('secret-env'),
    healthPath,
    healthExpect: c.raw('health-expect') || 'UP',
    healthTimeoutMs: c.seconds('health-timeout', 120, 1),
    healthIntervalMs: c.seconds('health-interval', 0.25, 0.05),
    nginxInclude: c.absolutePath('nginx-include', '/etc/nginx/conf.d/service-url.inc'),
    nginxConfig: c.raw('nginx-config') === '' ? undefined : c.absolutePath('nginx-config', ''),
    nginxReload: c.choice('nginx-reload', ['auto', 'systemctl', 'service', 'signal'] as const, 'auto'),
    verifyUrl,
    sudo: c.choice('sudo', ['auto', 'always', 'never'] as const, 'auto'),
    drainTimeoutMs: c.seconds('drain-timeout', 30),
    stopTimeoutMs: c.seconds('stop-timeout', 30),
    awaitStop: c.boolean('await-stop', false),
    lockTimeoutMs: c.seconds('lock-timeout', 300),
  };

  // The jar is looked at last and only when the rest is valid, so a bad input fails fast and cheaply.
  const jarPath = c.problems.length === 0 ? await resolveJar(c, jarPattern) : undefined;
  if (c.problems.length > 0 || jarPath === undefined) throw new SettingsError(c.problems);
  const jarSha256 = await sha256File(jarPath);
  const releaseId = c.raw('release-id') || makeReleaseId(now, jarSha256);
  if (!/^[A-Za-z0-9._-]+$/.test(releaseId) || releaseId.startsWith('.')) {
    throw new SettingsError([`release-id: must be letters, digits, ".", "_" or "-", got "${releaseId}"`]);
  }
  return { ...settings, jarPath, jarSha256, releaseId };
}
