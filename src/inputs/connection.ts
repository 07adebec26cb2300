// The inputs that say where to connect and how: hosts, user, key, host keys, jump host.
import ssh2 from 'ssh2';
import { parseFingerprints, parseKnownHosts, type KnownHostEntry } from '../host-key.js';
import type { Checker } from './checker.js';
import type { HostTarget, JumpHost, Settings } from './settings.js';

const USER_NAME = /^[a-z_][a-z0-9_.-]*\$?$/i;

/** host, host:port or [ipv6]:port, separated by commas, spaces or newlines. */
export function parseHosts(text: string, defaultPort: number): HostTarget[] | string {
  const targets: HostTarget[] = [];
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const match =
      /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(item) ?? /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(item);
    if (!match || match[1].startsWith('-')) return `"${item}" is not a host name, IP address or host:port`;
    const portText = match.at(2); // undefined when no :port was given
    const port = portText === undefined ? defaultPort : Number(portText);
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
function hostKeys(
  c: Checker,
  names: { knownHosts: string; fingerprint: string },
  strict: boolean,
): { knownHosts: KnownHostEntry[]; hostFingerprints: string[] } {
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
  if (typeof hosts === 'string') {
    c.fail('jump-host', hosts);
    return undefined;
  }
  if (hosts.length !== 1) {
    c.fail('jump-host', 'must name exactly one host');
    return undefined;
  }
  const username = c.raw('jump-username') || target.username;
  if (!USER_NAME.test(username)) c.fail('jump-username', 'is not a valid user name');
  const privateKey = c.raw('jump-private-key') || target.privateKey;
  const passphrase = c.raw('jump-passphrase') || (c.raw('jump-private-key') ? undefined : target.passphrase);
  if (c.raw('jump-private-key')) checkPrivateKey(c, privateKey, passphrase, 'jump-');
  const keys = hostKeys(c, { knownHosts: 'jump-known-hosts', fingerprint: 'jump-host-fingerprint' }, strict);
  return { ...hosts[0], username, privateKey, passphrase, ...keys };
}

export type ConnectionSettings = Pick<
  Settings,
  | 'targets'
  | 'jump'
  | 'username'
  | 'privateKey'
  | 'passphrase'
  | 'knownHosts'
  | 'hostFingerprints'
  | 'strictHostKeyChecking'
>;

/** Where to deploy and how to log in, with the host keys to trust. */
export function readConnection(c: Checker): ConnectionSettings {
  const sshPort = c.port('port', 22);
  const hosts = parseHosts(c.raw('host'), sshPort);
  const targets = typeof hosts === 'string' ? (c.fail('host', hosts), []) : hosts;
  const username = c.required('username');
  if (username !== '' && !USER_NAME.test(username)) c.fail('username', 'is not a valid user name');

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
  return {
    targets,
    jump,
    username,
    privateKey,
    passphrase,
    knownHosts,
    hostFingerprints,
    strictHostKeyChecking,
  };
}
