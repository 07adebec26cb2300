// The jump host of a netns target: a second sshd inside the namespace, listening only on its veth address, for
// the user jumper (own key), allowing nothing but direct-tcpip forwarding to the target's sshd (no shell, no
// remote forwarding). Reachable from the test; it reaches the target's sshd on the namespace's 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';
import { readQuiet, type Daemon } from './exec.js';
import type { NetNamespace } from './netns.js';
import { authorize, fingerprint, keygen, knownHostsLine, startSshd } from './sshd.js';
import { ensureUser } from './users.js';

/** The bastion's login user. */
const JUMP_USER = 'jumper';

export interface Bastion {
  /** The namespace side of the veth pair (10.213.x.y), reachable from the test. */
  readonly host: string;
  readonly sshPort: number;
  readonly username: 'jumper';
  /** OpenSSH private key text of jumper (ed25519, no passphrase). */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** The known_hosts line `[host]:<sshPort> ssh-ed25519 <base64>` (ed25519 host key only). */
  readonly knownHosts: string;
  readonly knownHostsPath: string;
  /** `SHA256:...` of its ed25519 host key. */
  readonly hostKeyFingerprint: string;
  readonly sshdPid: number;
  /** dir/bastion */
  readonly dir: string;
  /** Its sshd's log (LogLevel DEBUG1: logins and direct-tcpip channels). */
  readonly logFile: string;
  readLog(): string;
}

/** Starts the bastion of a target (dir, its sshd's port) in ns on `port`. */
export async function startBastion(
  target: { dir: string; sshPort: number },
  ns: NetNamespace,
  port: number,
): Promise<{ bastion: Bastion; daemon: Daemon }> {
  const d = path.join(target.dir, 'bastion');
  fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  const host = ns.net.nsAddr;
  const keyPath = path.join(d, 'client_key');
  const hostKey = path.join(d, 'ssh_host_ed25519_key');
  const [account] = await Promise.all([
    ensureUser(JUMP_USER),
    keygen(keyPath, 'ed25519'),
    keygen(hostKey, 'ed25519'),
  ]);
  authorize(d, JUMP_USER, keyPath, account);
  const knownHosts = `${knownHostsLine(`${hostKey}.pub`, host, port)}\n`;
  const knownHostsPath = path.join(d, 'known_hosts');
  fs.writeFileSync(knownHostsPath, knownHosts, { mode: 0o644 });
  const daemon = await startSshd({
    dir: d,
    listen: host,
    port,
    hostKeyTypes: ['ed25519'],
    options: [
      'PermitRootLogin no',
      `AllowUsers ${JUMP_USER}`,
      'AllowTcpForwarding local',
      `PermitOpen 127.0.0.1:${target.sshPort}`,
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'ForceCommand /bin/false',
      // VERBOSE logs logins but not the direct-tcpip channels; DEBUG1 logs those too.
      'LogLevel DEBUG1',
    ],
    wrap: (file, args) => ns.command(file, args),
    // From the root namespace, through the veth: the way the action will come in (the default check).
  });
  const bastion: Bastion = {
    host,
    sshPort: port,
    username: JUMP_USER,
    privateKey: fs.readFileSync(keyPath, 'utf8'),
    privateKeyPath: keyPath,
    knownHosts,
    knownHostsPath,
    hostKeyFingerprint: await fingerprint(`${hostKey}.pub`),
    sshdPid: daemon.pid,
    dir: d,
    logFile: daemon.logFile,
    readLog: () => readQuiet(daemon.logFile),
  };
  return { bastion, daemon };
}
