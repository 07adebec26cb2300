// A long-lived remote command (the lock holder) on its own channel: its output as it comes, and its end.
import type { ClientChannel } from 'ssh2';
import type { HeldCommand } from '../remote.js';
import type { Framed } from './framing.js';

const RELEASE_GRACE_MS = 10_000;

export class HeldChannel implements HeldCommand {
  private stdout = '';
  private stderr = '';
  private ended = false;
  private exitCode: number | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;

  constructor(
    private readonly channel: ClientChannel,
    private readonly framed: Framed,
    /** Kills the command on the host, children included. */
    private readonly kill: () => Promise<void>,
  ) {
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

  waitFor(patterns: RegExp[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no answer from the host within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const check = () => {
        // Only the script's own complete lines: a login shell's banner cannot match.
        const line = this.framed.linesSoFar(this.stdout).find((l) => patterns.some((p) => p.test(l)));
        if (line !== undefined) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        } else if (this.ended) {
          this.waiters.delete(check);
          clearTimeout(timer);
          const { stdout, stderr } = this.output();
          reject(new Error(`ended with exit code ${this.exitCode}: ${(stderr || stdout).trim()}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Ends its stdin and waits for its end; one that does not end within 10 s is killed, children included. */
  async release(): Promise<number | null> {
    if (!this.ended) this.channel.end();
    const timer = setTimeout(() => void this.kill().finally(() => this.channel.close()), RELEASE_GRACE_MS);
    await this.closed;
    clearTimeout(timer);
    return this.exitCode;
  }

  output(): { stdout: string; stderr: string } {
    return {
      stdout: this.framed.unframe(this.stdout) ?? '',
      stderr: this.framed.unframe(this.stderr) ?? this.stderr,
    };
  }
}
