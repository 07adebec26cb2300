// The Remote of one host over one SSH connection: commands, the lock holder, SFTP and HTTP, all over it.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { request, type Agent } from 'undici';
import { httpGetOnHost, parseHttpOnHost } from '../commands/http.js';
import type { Log } from '../log.js';
import {
  IncompleteAnswer,
  type ExecResult,
  type HeldCommand,
  type HttpResult,
  type Remote,
  type Script,
} from '../remote.js';
import { quote } from '../shell.js';
import { frame, killFramed } from './framing.js';
import { HeldChannel } from './held.js';
import { tunnelAgent } from './tunnel.js';

export class SshRemote implements Remote {
  private sftp?: Promise<SFTPWrapper>;
  private sftpWarned = false;
  private readonly agent: Agent;
  /** False once the host refused a forwarding channel: HTTP checks then run on the host (curl). */
  private tunnels = true;

  constructor(
    private readonly ssh: NodeSSH,
    readonly name: string,
    private readonly log: Log,
    /** A command's deadline beyond the waits it is given (command-timeout). */
    private readonly commandTimeoutMs: number,
    private readonly bastion?: NodeSSH,
  ) {
    this.agent = tunnelAgent(
      () => this.connection(),
      () => {
        this.tunnels = false;
      },
    );
  }

  private connection(): Client {
    const connection = this.ssh.connection;
    if (!connection) throw new Error(`the SSH connection to ${this.name} was lost`);
    return connection;
  }

  /** Read through a method: the tunnel agent clears it while a request is awaited. */
  private tunnelsAllowed(): boolean {
    return this.tunnels;
  }

  private logScript(command: Script): void {
    if (command.quiet) this.log.debug(`$ ${command.title}`);
    else this.log.info(`$ ${command.title}`);
    this.log.debug(command.script);
  }

  async exec(command: Script, stdin?: Readable | string): Promise<ExecResult> {
    this.logScript(command);
    this.connection(); // a clear error when the link is already gone
    const framed = frame(command.script);
    const deadline = new Deadline((command.waitMs ?? 0) + this.commandTimeoutMs, () =>
      this.kill(framed.nonce),
    );
    const run = this.ssh
      .execCommand(framed.command, { noTrim: true, stdin, onChannel: (channel) => deadline.watch(channel) })
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${command.title}: ${message} (the SSH connection to ${this.name} was lost?)`, {
          cause: error,
        });
      });
    run.catch(() => undefined); // an end that comes after the deadline was reported already
    const raw = await Promise.race([run, deadline.expired(command.title, this.name)]).finally(() =>
      deadline.clear(),
    );
    if (raw.code === null) throw new Error(`${command.title}: the SSH channel closed without an exit code`);
    const stdout = framed.unframe(raw.stdout);
    if (stdout === undefined) throw new Error(notStarted(command.title, this.name, raw));
    return { code: raw.code, stdout, stderr: framed.unframe(raw.stderr) ?? raw.stderr };
  }

  /** Ends a framed run that outlived its deadline, with its children (best effort, bounded too). */
  private async kill(nonce: string): Promise<void> {
    const killing = this.ssh.execCommand(frame(killFramed(nonce)).command).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([killing, new Promise((resolve) => (timer = setTimeout(resolve, KILL_WAIT_MS)))]);
    clearTimeout(timer);
  }

  hold(command: Script): Promise<HeldCommand> {
    this.logScript({ ...command, quiet: false });
    return new Promise((resolve, reject) => {
      const framed = frame(command.script);
      this.connection().exec(framed.command, (error, channel) => {
        if (error) reject(error);
        else resolve(new HeldChannel(channel, framed, () => this.kill(framed.nonce)));
      });
    });
  }

  private sftpSession(): Promise<SFTPWrapper> {
    this.sftp ??= this.ssh.requestSFTP();
    return this.sftp;
  }

  /**
   * SFTP, or undefined when the host cannot start it: a login shell that prints corrupts the SFTP stream
   * ("message too long"). Files then go through a plain command's stdin, which the framing keeps clean.
   */
  private async usableSftp(): Promise<SFTPWrapper | undefined> {
    try {
      return await this.sftpSession();
    } catch (error) {
      if (this.sftpWarned) return undefined;
      this.sftpWarned = true;
      const message = error instanceof Error ? error.message : String(error);
      this.log.warning(
        `${this.name}: SFTP does not start (${message}); files are sent through a command instead`,
      );
      return undefined;
    }
  }

  /** 32 requests of 128 KiB in flight (ssh2 splits them to the server's own write limit): near scp speed. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const sftp = await this.usableSftp();
    if (!sftp) {
      await this.pipeTo(remotePath, createReadStream(localPath), `cat > ${quote(remotePath)}`);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      sftp.fastPut(localPath, remotePath, { concurrency: 32, chunkSize: 131072 }, (error) => {
        if (error) reject(new Error(`upload to ${remotePath} failed: ${error.message}`));
        else resolve();
      });
    });
  }

  async writeFile(remotePath: string, content: string, mode: number): Promise<void> {
    const sftp = await this.usableSftp();
    if (!sftp) {
      const tmp = quote(`${remotePath}.tmp`);
      const script = `umask 077 && cat > ${tmp} && chmod ${mode.toString(8)} ${tmp} && mv -f -- ${tmp} ${quote(remotePath)}`;
      await this.pipeTo(remotePath, content, script);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(remotePath, content, { mode }, (error) => {
        if (error) reject(new Error(`writing ${remotePath} failed: ${error.message}`));
        else resolve();
      });
    });
  }

  private async pipeTo(remotePath: string, input: Readable | string, script: string): Promise<void> {
    // A transfer takes as long as the link needs; keepalives end it if the link dies.
    const result = await this.exec(
      { title: `write ${remotePath}`, script, quiet: true, waitMs: Infinity },
      input,
    );
    if (result.code !== 0)
      throw new Error(`writing ${remotePath} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }

  async httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
    if (this.tunnelsAllowed()) {
      try {
        const response = await request(url, {
          dispatcher: this.agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        return {
          status: response.statusCode,
          body: await readBody(response.statusCode, response.body, timeoutMs),
        };
      } catch (error) {
        if (this.tunnelsAllowed() || error instanceof IncompleteAnswer) throw error;
        this.log.warning(`${this.name} does not allow TCP forwarding: HTTP checks run on the host with curl`);
      }
    }
    const result = await this.exec({ ...httpGetOnHost(url, timeoutMs), waitMs: timeoutMs });
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

/** The wrapper never printed its first marker: the login shell did not run the command at all. */
function notStarted(
  title: string,
  host: string,
  raw: { code: number | null; stdout: string; stderr: string },
): string {
  const said = `${raw.stderr}${raw.stdout}`.trim().slice(0, 500);
  return (
    `${title}: the command never started on ${host} (exit code ${raw.code}); ` +
    `the deploy user's login shell said: ${said || 'nothing'}`
  );
}

/** How long the kill of a run past its deadline may take. */
const KILL_WAIT_MS = 10_000;

/** A health answer larger than this is not one: it is cut and reported. */
const MAX_BODY = 1 << 20;

/** The body, or IncompleteAnswer when it does not end within the probe's time or grows past MAX_BODY. */
async function readBody(status: number, body: AsyncIterable<Buffer>, timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_BODY) throw new IncompleteAnswer(`HTTP ${status}, but its body is larger than 1 MiB`);
    }
  } catch (error) {
    if (error instanceof IncompleteAnswer) throw error;
    const name = error instanceof Error ? error.name : '';
    if (name === 'AbortError' || name === 'TimeoutError' || name === 'BodyTimeoutError') {
      throw new IncompleteAnswer(`HTTP ${status}, but its body did not end within ${timeoutMs / 1000} s`);
    }
    throw new IncompleteAnswer(`HTTP ${status}, but the connection broke during its body (${String(error)})`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A command's deadline: when it passes, the command fails, naming command-timeout, and its process group on the
 * host is killed (closing the channel alone would leave it running). Infinity: none.
 */
class Deadline {
  private timer?: NodeJS.Timeout;
  private channel?: ClientChannel;

  constructor(
    private readonly ms: number,
    private readonly stop: () => Promise<void>,
  ) {}

  watch(channel: ClientChannel): void {
    this.channel = channel;
  }

  expired(title: string, host: string): Promise<never> {
    return new Promise((_, reject) => {
      if (!Number.isFinite(this.ms)) return;
      this.timer = setTimeout(() => {
        void this.stop().finally(() => this.channel?.close());
        reject(
          new Error(
            `${title}: no end within ${this.ms / 1000} s on ${host}; the command was stopped. ` +
              'A remote command hangs (a stuck mount, nginx -t waiting for a name server?): fix the host, or raise command-timeout',
          ),
        );
      }, this.ms);
    });
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
