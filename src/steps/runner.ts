// Each remote step is a collapsible log group with its duration, and a row in the job summary.
import type { Log } from '../log.js';

export type StepStatus = 'ok' | 'failed' | 'skipped';

export interface StepRecord {
  host: string;
  name: string;
  status: StepStatus;
  durationMs: number;
  detail: string;
}

/** A failure that names the step it happened in. The host is named once, by whoever reports it. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    readonly cause: unknown,
  ) {
    super(`${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepError';
  }
}

export class StepRunner {
  readonly records: StepRecord[] = [];

  constructor(
    private readonly host: string,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs one step; `fn` may return a short detail for the summary via `detail()`. */
  async run<T>(name: string, fn: (detail: (text: string) => void) => Promise<T>): Promise<T> {
    const record: StepRecord = { host: this.host, name, status: 'ok', durationMs: 0, detail: '' };
    this.records.push(record);
    const started = this.now();
    this.log.startGroup(name);
    try {
      return await fn((text) => {
        record.detail = text;
        this.log.info(text);
      });
    } catch (error) {
      record.status = 'failed';
      const message = error instanceof Error ? error.message : String(error);
      record.detail = message.split('\n')[0];
      // A plain line: the one error annotation of the run is the action's final failure message.
      this.log.info(`${name} failed: ${message}`);
      throw error instanceof StepError ? error : new StepError(name, error);
    } finally {
      record.durationMs = this.now() - started;
      this.log.info(`${name}: ${record.status} in ${(record.durationMs / 1000).toFixed(2)} s`);
      this.log.endGroup();
    }
  }

  /** A step that has nothing to do: shown in the log as in the summary. */
  skip(name: string, why: string): void {
    this.records.push({ host: this.host, name, status: 'skipped', durationMs: 0, detail: why });
    this.log.info(`${name}: skipped (${why})`);
  }
}
