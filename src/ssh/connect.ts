// Opening the one SSH connection of a deploy: a TCP socket (or a channel through a jump host), the host key
// checked before anything else (fail closed unless told otherwise), then key authentication.
import net from 'node:net';
import type { Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import {
  createHostVerifier,
  HostKeyError,
  mismatchMessage,
  pinnedKeyTypes,
  probeHostKeys,
  serverHostKeyAlgorithms,
  type HostKeyCheck,
  type HostKeyPolicy,
} from '../host-key.js';
import type { Log } from '../log.js';
import { SshRemote } from './remote.js';

/** One SSH hop: where, who, and how its host key is trusted. */
export interface SshEndpoint {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase?: string;
  policy: HostKeyPolicy;
}

export interface SshOptions extends SshEndpoint {
  /** A bastion to go through: the target is reached by a channel the bastion opens to it. */
  jump?: SshEndpoint;
  strictHostKeyChecking: boolean;
  timeoutMs: number;
  /** A remote command's deadline beyond the waits it is given. */
  commandTimeoutMs: number;
  log: Log;
}

type Stream = NodeJS.ReadableStream & NodeJS.WritableStream;
type HopOptions = Pick<SshOptions, 'strictHostKeyChecking' | 'timeoutMs' | 'log'>;

/** A TCP connection with Nagle off: every command is a small round trip, and delayed ACKs cost ~40 ms each. */
function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`could not reach ${host}:${port} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not connect to ${host}:${port}: ${error.message}`));
    });
  });
}

/** ssh2's host verifier for one hop, and its last decision (to explain a failed handshake). */
function hostVerifierFor(
  hop: SshEndpoint,
  opts: HopOptions,
): { hostVerifier: (key: Buffer) => boolean; verdict: () => HostKeyCheck | undefined } {
  let verdict: HostKeyCheck | undefined;
  const verify = createHostVerifier(hop.policy, hop.host, hop.port, (r) => {
    verdict = r;
  });
  const hostVerifier = (key: Buffer): boolean => {
    const ok = verify(key);
    if (!ok && !opts.strictHostKeyChecking) {
      opts.log.warning(
        `strict-host-key-checking is off: accepting ${verdict?.keyType ?? 'unknown'} key ${verdict?.fingerprint ?? 'unknown'} of ${hop.host} unverified`,
      );
      return true;
    }
    return ok;
  };
  return { hostVerifier, verdict: () => verdict };
}

/**
 * The host key algorithms to negotiate: a key type that known-hosts pins (a pinned RSA key is useless if the
 * client picks ed25519). Fingerprints do not name their key type: ask the server which of its keys they match
 * (handshakes that never authenticate). If none does (or no probe is possible), the key check still decides,
 * fail closed. Empty: ssh2's default list.
 */
async function hostKeyAlgorithms(
  hop: SshEndpoint,
  opts: HopOptions,
  canProbe: boolean,
): Promise<ServerHostKeyAlgorithm[]> {
  const { host, port } = hop;
  const pinned = pinnedKeyTypes(hop.policy, host, port);
  if (hop.policy.fingerprints.length > 0) {
    const offered = canProbe ? await probeHostKeys({ host, port, timeoutMs: opts.timeoutMs }) : [];
    for (const o of offered) {
      if (hop.policy.fingerprints.includes(o.fingerprint) && !pinned.includes(o.keyType))
        pinned.push(o.keyType);
    }
  }
  return serverHostKeyAlgorithms(pinned);
}

/** Authenticates one hop over `sock`, verifying its host key first (fail closed unless told otherwise). */
async function openHop(
  hop: SshEndpoint,
  sock: Stream,
  opts: HopOptions,
  canProbe: boolean,
): Promise<NodeSSH> {
  const { host, port } = hop;
  const { hostVerifier, verdict } = hostVerifierFor(hop, opts);
  const algorithms = await hostKeyAlgorithms(hop, opts, canProbe);
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host,
      port,
      sock: sock as never,
      username: hop.username,
      privateKey: hop.privateKey,
      passphrase: hop.passphrase,
      readyTimeout: opts.timeoutMs,
      keepaliveInterval: 5000,
      keepaliveCountMax: 3,
      hostVerifier,
      ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms as never } } : {}),
    });
  } catch (error) {
    ssh.dispose();
    const refused = verdict();
    if (refused && !refused.ok && opts.strictHostKeyChecking) {
      const offered = canProbe ? await probeHostKeys({ host, port, timeoutMs: opts.timeoutMs }) : [];
      throw new HostKeyError(mismatchMessage(host, port, refused.reason ?? 'host key not trusted', offered));
    }
    throw new Error(`SSH connection to ${hop.username}@${host}:${port} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // node-ssh drops its own 'error' listener once connected: without this one, a link that breaks between two
  // commands (EPIPE, ECONNRESET) would crash the action instead of failing the next command.
  ssh.connection?.on('error', (error: Error) => {
    opts.log.debug(`SSH connection to ${host}:${port}: ${error.message}`);
  });
  const accepted = verdict();
  opts.log.info(
    `connected to ${hop.username}@${host}:${port} (host key ${accepted?.keyType ?? 'unknown'} ${accepted?.fingerprint ?? 'unknown'})`,
  );
  return ssh;
}

/** A channel from the bastion to host:port, used as the next hop's socket. */
function forwardThrough(bastion: NodeSSH, host: string, port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const connection = bastion.connection;
    if (!connection) {
      reject(new Error('the connection to the jump host was lost'));
      return;
    }
    connection.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      if (error) {
        reject(
          new Error(`the jump host could not reach ${host}:${port}: ${error.message}`, { cause: error }),
        );
      } else {
        resolve(channel);
      }
    });
  });
}

/** Through the jump host, if any: the bastion's connection and the socket to the target. */
async function reachTarget(opts: SshOptions): Promise<{ bastion?: NodeSSH; sock: Stream }> {
  if (!opts.jump) return { sock: await openSocket(opts.host, opts.port, opts.timeoutMs) };
  const jumpSocket = await openSocket(opts.jump.host, opts.jump.port, opts.timeoutMs);
  const bastion = await openHop(opts.jump, jumpSocket, opts, true);
  try {
    return { bastion, sock: await forwardThrough(bastion, opts.host, opts.port) };
  } catch (error) {
    bastion.dispose();
    throw error;
  }
}

export async function connectSsh(opts: SshOptions): Promise<SshRemote> {
  const { bastion, sock } = await reachTarget(opts);
  try {
    // Through a bastion the target's keys cannot be probed directly: the mismatch names the offered key only.
    const ssh = await openHop(opts, sock, opts, !opts.jump);
    return new SshRemote(ssh, `${opts.host}:${opts.port}`, opts.log, opts.commandTimeoutMs, bastion);
  } catch (error) {
    bastion?.dispose();
    (sock as Partial<Socket>).destroy?.();
    throw error;
  }
}
