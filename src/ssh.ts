// The one SSH connection of a deploy: commands, SFTP, the lock holder and an HTTP tunnel, all over it.
import net from 'node:net';
import type { Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { Agent, request } from 'undici';
import { httpGetOnHost, parseHttpOnHost } from './commands/http.js';
import type { RemoteCommand } from './commands/types.js';
import {
  createHostVerifier,
  HostKeyError,
  mismatchMessage,
  pinnedKeyTypes,
  probeHostKeys,
  serverHostKeyAlgorithms,
  type HostKeyPolicy,
} from './host-key.js';
import type { Log } from './log.js';
import type { ExecResult, HeldCommand, HttpResult, Remote } from './remote.js';
import { quote } from './shell.js';

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
  log: Log;
}

type Stream = NodeJS.ReadableStream & NodeJS.WritableStream;

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

/** Authenticates one hop over `sock`, verifying its host key first (fail closed unless told otherwise). */
async function openHop(
  hop: SshEndpoint,
  sock: Stream,
  opts: Pick<SshOptions, 'strictHostKeyChecking' | 'timeoutMs' | 'log'>,
  canProbe: boolean,
): Promise<NodeSSH> {
  const { host, port } = hop;
  let verdict: { ok: boolean; reason?: string; keyType: string; fingerprint: string } | undefined;
  const verify = createHostVerifier(hop.policy, host, port, (r) => (verdict = r));
  const hostVerifier = (key: Buffer): boolean => {
    const ok = verify(key);
    if (!ok && !opts.strictHostKeyChecking) {
      opts.log.warning(
        `strict-host-key-checking is off: accepting ${verdict?.keyType} key ${verdict?.fingerprint} of ${host} unverified`,
      );
      return true;
    }
    return ok;
  };
  // Negotiate a key type that known-hosts pins (a pinned RSA key is useless if the client picks ed25519).
  // Fingerprints do not name their key type: ask the server which of its keys they match (handshakes that never
  // authenticate). If none does (or no probe is possible), the key check below still decides, fail closed.
  const pinned = pinnedKeyTypes(hop.policy, host, port);
  if (hop.policy.fingerprints.length > 0) {
    const offered = canProbe ? await probeHostKeys({ host, port, timeoutMs: opts.timeoutMs }) : [];
    for (const o of offered) {
      if (hop.policy.fingerprints.includes(o.fingerprint) && !pinned.includes(o.keyType))
        pinned.push(o.keyType);
    }
  }
  const algorithms = serverHostKeyAlgorithms(pinned);
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
    if (verdict && !verdict.ok && opts.strictHostKeyChecking) {
      const offered = canProbe ? await probeHostKeys({ host, port, timeoutMs: opts.timeoutMs }) : [];
      throw new HostKeyError(mismatchMessage(host, port, verdict.reason ?? 'host key not trusted', offered));
    }
    throw new Error(`SSH connection to ${hop.username}@${host}:${port} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  opts.log.info(
    `connected to ${hop.username}@${host}:${port} (host key ${verdict?.keyType} ${verdict?.fingerprint})`,
  );
  return ssh;
}

/** A channel from the bastion to host:port, used as the next hop's socket. */
function forwardThrough(bastion: NodeSSH, host: string, port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const connection = bastion.connection;
    if (!connection) return reject(new Error('the connection to the jump host was lost'));
    connection.forwardOut('127.0.0.1', 0, host, port, (error, channel) =>
      error
        ? reject(
            new Error(`the jump host could not reach ${host}:${port}: ${error.message}`, { cause: error }),
          )
        : resolve(channel),
    );
  });
}

export async function connectSsh(opts: SshOptions): Promise<SshRemote> {
  let bastion: NodeSSH | undefined;
  let sock: Stream;
  if (opts.jump) {
    bastion = await openHop(
      opts.jump,
      await openSocket(opts.jump.host, opts.jump.port, opts.timeoutMs),
      opts,
      true,
    );
    try {
      sock = await forwardThrough(bastion, opts.host, opts.port);
    } catch (error) {
      bastion.dispose();
      throw error;
    }
  } else {
    sock = await openSocket(opts.host, opts.port, opts.timeoutMs);
  }
  try {
    // Through a bastion the target's keys cannot be probed directly: the mismatch names the offered key only.
    const ssh = await openHop(opts, sock, opts, !opts.jump);
    return new SshRemote(ssh, `${opts.host}:${opts.port}`, opts.log, bastion);
  } catch (error) {
    bastion?.dispose();
    (sock as Partial<Socket>).destroy?.();
    throw error;
  }
}

export class SshRemote implements Remote {
  private sftp?: Promise<SFTPWrapper>;
  private readonly agent: Agent;
  /** False once the host refused a forwarding channel: HTTP checks then run on the host (curl). */
  private tunnels = true;

  constructor(
    private readonly ssh: NodeSSH,
    readonly name: string,
    private readonly log: Log,
    private readonly bastion?: NodeSSH,
  ) {
    // HTTP from the host's point of view: each connection is an SSH direct-tcpip channel, so the host needs no curl.
    this.agent = new Agent({
      connect: (options, callback) => {
        const target = options.hostname.replace(/^\[(.*)\]$/, '$1');
        this.connection().forwardOut('127.0.0.1', 0, target, Number(options.port), (error, channel) => {
          // Reason 1 is SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: sshd has AllowTcpForwarding no.
          if ((error as { reason?: number } | undefined)?.reason === 1) this.tunnels = false;
          if (error) return callback(error, null);
          // undici waits for 'close' after destroying a socket, but an ssh2 channel emits 'close' only once its
          // end was read, and nobody reads a destroyed socket (e.g. after a `Connection: close` answer): without
          // this, closing the agent would wait forever.
          const destroy = channel.destroy.bind(channel);
          channel.destroy = () => {
            destroy();
            channel.resume();
            return channel;
          };
          callback(null, channel as unknown as Socket);
        });
      },
      keepAliveTimeout: 2000,
      pipelining: 1,
    });
  }

  private connection(): Client {
    const connection = this.ssh.connection;
    if (!connection) throw new Error(`the SSH connection to ${this.name} was lost`);
    return connection;
  }

  async exec(command: RemoteCommand): Promise<ExecResult> {
    (command.quiet ? this.log.debug : this.log.info)(`$ ${command.title}`);
    this.log.debug(command.script);
    this.connection(); // a clear error when the link is already gone
    const result = await this.ssh.execCommand(`sh -c ${quote(command.script)}`).catch((error: Error) => {
      throw new Error(`${command.title}: ${error.message} (the SSH connection to ${this.name} was lost?)`, {
        cause: error,
      });
    });
    if (result.code === null)
      throw new Error(`${command.title}: the SSH channel closed without an exit code`);
    return { code: result.code, stdout: result.stdout, stderr: result.stderr };
  }

  hold(command: RemoteCommand): Promise<HeldCommand> {
    this.log.info(`$ ${command.title}`);
    this.log.debug(command.script);
    return new Promise((resolve, reject) => {
      this.connection().exec(`sh -c ${quote(command.script)}`, (error, channel) => {
        if (error) reject(error);
        else resolve(new HeldChannel(channel));
      });
    });
  }

  private sftpSession(): Promise<SFTPWrapper> {
    this.sftp ??= this.ssh.requestSFTP();
    return this.sftp;
  }

  /** 32 requests of 128 KiB in flight (ssh2 splits them to the server's own write limit): near scp speed. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const sftp = await this.sftpSession();
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(localPath, remotePath, { concurrency: 32, chunkSize: 131072 }, (error) =>
        error ? reject(new Error(`upload to ${remotePath} failed: ${error.message}`)) : resolve(),
      ),
    );
  }

  async writeFile(remotePath: string, content: string, mode: number): Promise<void> {
    const sftp = await this.sftpSession();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remotePath, content, { mode }, (error) =>
        error ? reject(new Error(`writing ${remotePath} failed: ${error.message}`)) : resolve(),
      ),
    );
  }

  async httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
    if (this.tunnels) {
      try {
        const response = await request(url, {
          dispatcher: this.agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        return { status: response.statusCode, body: await response.body.text() };
      } catch (error) {
        if (this.tunnels) throw error;
        this.log.warning(`${this.name} does not allow TCP forwarding: HTTP checks run on the host with curl`);
      }
    }
    const result = await this.exec(httpGetOnHost(url, timeoutMs));
    if (result.code !== 0) throw new Error(result.stderr.trim() || `curl exited with ${result.code}`);
    return parseHttpOnHost(result.stdout);
  }

  async close(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
    if (this.sftp) (await this.sftp.catch(() => undefined))?.end();
    this.ssh.dispose();
    this.bastion?.dispose();
  }
}

class HeldChannel implements HeldCommand {
  private stdout = '';
  private stderr = '';
  private ended = false;
  private exitCode: number | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;

  constructor(private readonly channel: ClientChannel) {
    channel.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.notify();
    });
    channel.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    channel.on('exit', (code: number | null) => (this.exitCode = code));
    this.closed = new Promise((resolve) =>
      channel.on('close', () => {
        this.ended = true;
        this.notify();
        resolve();
      }),
    );
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  waitFor(patterns: RegExp[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.stdout.split('\n').find((l) => patterns.some((p) => p.test(l)));
        if (line !== undefined) {
          this.waiters.delete(check);
          resolve(line);
        } else if (this.ended) {
          this.waiters.delete(check);
          reject(new Error(`ended with exit code ${this.exitCode}: ${(this.stderr || this.stdout).trim()}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  async release(): Promise<number | null> {
    if (!this.ended) this.channel.end();
    await this.closed;
    return this.exitCode;
  }

  output(): { stdout: string; stderr: string } {
    return { stdout: this.stdout, stderr: this.stderr };
  }
}
