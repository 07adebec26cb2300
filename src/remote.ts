// The side effects of a deploy on one host. `Remote` is the transport (ssh.ts: one SSH connection); the
// `Executor` on top of it runs the typed commands of src/commands and is what the steps use, so the deploy
// logic is tested against a fake executor that answers with typed values.
import type { CommandKind, CommandResults, RemoteCommand } from './commands/types.js';
import type { LockCommand } from './commands/lock.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** A script to run with `sh -c`, and its title for the log. */
export interface Script {
  title: string;
  script: string;
  /** Logged at debug level only (frequent polls). */
  quiet?: boolean;
  /**
   * How long the script itself may wait on purpose (a stop's grace period, a drain). Its deadline is this plus
   * command-timeout; Infinity for none (a transfer, guarded by the connection's keepalives).
   */
  waitMs?: number;
}

/** A long-lived remote command (the lock holder): its output lines, and a way to end it. */
export interface HeldCommand {
  /**
   * Resolves with the first stdout line matching one of `patterns`; rejects when the command ends first, or
   * when no such line came within `timeoutMs`.
   */
  waitFor(patterns: RegExp[], timeoutMs: number): Promise<string>;
  /** Closes its stdin and waits for it to exit; resolves with the exit code. */
  release(): Promise<number | null>;
  /** Everything it printed so far. */
  output(): { stdout: string; stderr: string };
}

export interface Remote {
  readonly name: string;
  /** Runs a command; never throws for a non-zero exit (the caller decides). */
  exec(command: Script): Promise<ExecResult>;
  hold(command: Script): Promise<HeldCommand>;
  upload(localPath: string, remotePath: string): Promise<void>;
  writeFile(remotePath: string, content: string, mode: number): Promise<void>;
  /** An HTTP GET made from the host itself (through an SSH tunnel), e.g. to 127.0.0.1:PORT. */
  httpGet(url: string, timeoutMs: number): Promise<HttpResult>;
  close(): Promise<void>;
}

/** What the steps use: typed commands in, typed values out. */
export interface Executor {
  run<K extends CommandKind>(command: RemoteCommand<K>): Promise<CommandResults[K]>;
  hold(command: LockCommand): Promise<HeldCommand>;
  upload(localPath: string, remotePath: string): Promise<void>;
  writeFile(remotePath: string, content: string, mode: number): Promise<void>;
  httpGet(url: string, timeoutMs: number): Promise<HttpResult>;
}

/** The server answered, but the answer did not end in time or was too large: not a connection problem. */
export class IncompleteAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteAnswer';
  }
}

export class RemoteCommandError extends Error {
  constructor(
    readonly title: string,
    readonly result: ExecResult,
  ) {
    const detail = (result.stderr || result.stdout).trim();
    super(`${title} failed with exit code ${result.code}${detail ? `:\n${detail}` : ''}`);
    this.name = 'RemoteCommandError';
  }
}

/** The one executor: runs a command, fails on a non-zero exit, parses its output. */
export function executor(remote: Remote): Executor {
  return {
    run: async (command) => {
      const result = await remote.exec(command);
      if (result.code !== 0) throw new RemoteCommandError(command.title, result);
      try {
        return command.parse(result.stdout);
      } catch (error) {
        throw new Error(`${command.title}: ${(error as Error).message}`, { cause: error });
      }
    },
    hold: (command) => remote.hold(command),
    upload: (localPath, remotePath) => remote.upload(localPath, remotePath),
    writeFile: (remotePath, content, mode) => remote.writeFile(remotePath, content, mode),
    httpGet: (url, timeoutMs) => remote.httpGet(url, timeoutMs),
  };
}
