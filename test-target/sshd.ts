// OpenSSH pieces of a target: keys, known_hosts lines and fingerprints, an sshd with a config of its own, and the
// options for the system ssh/scp clients.
import fs from 'node:fs';
import path from 'node:path';
import { execOk, spawnDaemon, type Daemon } from './exec.js';
import { canConnect, waitForPort } from './ports.js';

const SSHD = '/usr/sbin/sshd';

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

const KEYGEN_EXTRA: Record<HostKeyType, string[]> = {
  ed25519: [],
  ecdsa: ['-b', '256'],
  rsa: ['-b', '2048'],
};

/** A new key pair without passphrase: file and file.pub. */
export async function keygen(file: string, type: HostKeyType): Promise<void> {
  await execOk('ssh-keygen', ['-q', '-t', type, ...KEYGEN_EXTRA[type], '-N', '', '-C', '', '-f', file]);
}

/** Uses an existing client key (e.g. another target's, so that one key logs in to several targets). */
export async function copyClientKey(from: string, to: string): Promise<void> {
  fs.copyFileSync(from, to);
  fs.chmodSync(to, 0o600);
  const r = await execOk('ssh-keygen', ['-y', '-f', to]);
  fs.writeFileSync(`${to}.pub`, r.stdout, { mode: 0o644 });
}

/** `SHA256:...` of a public key file, as `ssh-keygen -lf` prints it. */
export async function fingerprint(pubFile: string): Promise<string> {
  const r = await execOk('ssh-keygen', ['-l', '-f', pubFile]);
  const fp = r.stdout.trim().split(/\s+/)[1] ?? '';
  if (!fp.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${r.stdout}`);
  return fp;
}

/** The known_hosts line `[host]:port <type> <base64>` of a host public key file. */
export function knownHostsLine(pubFile: string, host: string, port: number): string {
  const [type, b64] = fs.readFileSync(pubFile, 'utf8').trim().split(/\s+/);
  return `[${host}]:${port} ${type} ${b64}`;
}

/** Lets `user` log in with the public half of keyPath: dir/authorized_keys/<user>, owned by the user. */
export function authorize(
  dir: string,
  user: string,
  keyPath: string,
  owner: { uid: number; gid: number },
): void {
  const authDir = path.join(dir, 'authorized_keys');
  fs.mkdirSync(authDir, { recursive: true, mode: 0o755 });
  const file = path.join(authDir, user);
  fs.writeFileSync(file, fs.readFileSync(`${keyPath}.pub`, 'utf8'), { mode: 0o600 });
  fs.chownSync(file, owner.uid, owner.gid);
}

export interface SshdSpec {
  /** Holds sshd_config, sshd.pid, sshd.log, the host keys named in hostKeyTypes and authorized_keys/<user>. */
  dir: string;
  listen: string;
  port: number;
  hostKeyTypes: HostKeyType[];
  /** Further sshd_config lines (users, forwarding, logging). */
  options: string[];
  /** How to run a program where the sshd belongs (e.g. in a network namespace). */
  wrap: (file: string, args: string[]) => [string, string[]];
  /** How to tell that it listens (default: a TCP connection to listen:port succeeds). */
  up?: (port: number) => Promise<boolean>;
}

/** Writes and checks sshd_config, starts sshd in the foreground, resolves once it listens. */
export async function startSshd(spec: SshdSpec): Promise<Daemon> {
  const d = spec.dir;
  const cfg = [
    `Port ${spec.port}`,
    `ListenAddress ${spec.listen}`,
    ...spec.hostKeyTypes.map((type) => `HostKey ${d}/ssh_host_${type}_key`),
    `PidFile ${d}/sshd.pid`,
    `AuthorizedKeysFile ${d}/authorized_keys/%u`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'MaxStartups 50:30:100',
    ...spec.options,
    '',
  ].join('\n');
  const cfgFile = path.join(d, 'sshd_config');
  fs.writeFileSync(cfgFile, cfg, { mode: 0o644 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await execOk(SSHD, ['-t', '-f', cfgFile]);
  const daemon = spawnDaemon(spec.wrap(SSHD, ['-D', '-e', '-f', cfgFile]), path.join(d, 'sshd.log'));
  const up = spec.up ?? ((p: number) => canConnect(p, spec.listen));
  await waitForPort(spec.port, { ...daemon, what: `sshd (${cfgFile})` }, 10_000, up);
  return daemon;
}

/** Options for the system ssh/scp clients: this key and known_hosts only, strict, non-interactive. */
export function sshClientOptions(privateKeyPath: string, knownHostsPath: string): string[] {
  return [
    ...['-F', '/dev/null', '-i', privateKeyPath],
    ...['-o', `UserKnownHostsFile=${knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'],
    ...['-o', 'IdentityAgent=none', '-o', 'LogLevel=ERROR'],
  ];
}
