// A long-lived remote command (the lock holder) on its own channel: its output as it comes, and its end.
import type { ClientChannel } from 'ssh2';
import type { HeldCommand } from '../remote.js';
import type { Framed } from './framing.js';

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

  waitFor(patterns: RegExp[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        // Only the script's own complete lines: a login shell's banner cannot match.
        const line = this.framed.linesSoFar(this.stdout).find((l) => patterns.some((p) => p.test(l)));
        if (line !== undefined) {
          this.waiters.delete(check);
          resolve(line);
        } else if (this.ended) {
          this.waiters.delete(check);
          const { stdout, stderr } = this.output();
          reject(new Error(`ended with exit code ${this.exitCode}: ${(stderr || stdout).trim()}`));
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
    return {
      stdout: this.framed.unframe(this.stdout) ?? '',
      stderr: this.framed.unframe(this.stderr) ?? this.stderr,
    };
  }
}
