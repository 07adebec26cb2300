// The side effects of a deploy on one host, behind a small interface so the deploy logic is tested without
// a network. ssh.ts implements it over one SSH connection.
import { parseKeyValues, type RemoteCommand } from './commands/types.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** A long-lived remote command (the lock holder): its output lines, and a way to end it. */
export interface HeldCommand {
  /** Resolves with the first stdout line matching one of `patterns`, or rejects when the command ends first. */
  waitFor(patterns: RegExp[]): Promise<string>;
  /** Closes its stdin and waits for it to exit; resolves with the exit code. */
  release(): Promise<number | null>;
  /** Everything it printed so far. */
  output(): { stdout: string; stderr: string };
}

export interface Remote {
  readonly name: string;
  /** Runs a command; never throws for a non-zero exit (the caller decides). */
  exec(command: RemoteCommand): Promise<ExecResult>;
  hold(command: RemoteCommand): Promise<HeldCommand>;
  upload(localPath: string, remotePath: string): Promise<void>;
  writeFile(remotePath: string, content: string, mode: number): Promise<void>;
  /** An HTTP GET made from the host itself (through an SSH tunnel), e.g. to 127.0.0.1:PORT. */
  httpGet(url: string, timeoutMs: number): Promise<HttpResult>;
  close(): Promise<void>;
}

export class RemoteCommandError extends Error {
  constructor(
    readonly command: RemoteCommand,
    readonly result: ExecResult,
  ) {
    const detail = (result.stderr || result.stdout).trim();
    super(`${command.title} failed with exit code ${result.code}${detail ? `:\n${detail}` : ''}`);
    this.name = 'RemoteCommandError';
  }
}

/** exec() that throws RemoteCommandError on a non-zero exit. */
export async function execChecked(remote: Remote, command: RemoteCommand): Promise<ExecResult> {
  const result = await remote.exec(command);
  if (result.code !== 0) throw new RemoteCommandError(command, result);
  return result;
}

/** execChecked(), then the script's `key=value` lines. */
export async function execValues(remote: Remote, command: RemoteCommand): Promise<Map<string, string>> {
  return parseKeyValues((await execChecked(remote, command)).stdout);
}
