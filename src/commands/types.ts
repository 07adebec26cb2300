// The contract of every remote command: a POSIX sh script, and the parser that turns what the script prints
// into a typed value. Scripts print `key=value` lines; only the builder that prints a key reads it back.
import type { Detection } from './detect.js';
import type { HttpResult } from '../remote.js';
import type { Launched, PortOwner, StopOutcome } from './app.js';
import type { Drained } from './drain.js';
import type { Switched } from './nginx.js';
import type { PreparedRelease } from './release.js';
import type { HistoryRead } from './history.js';
import type { StatusRead } from './status.js';
import type { Probe } from './preflight.js';

/** The typed result of each kind of command. A fake host answers with these values directly. */
export interface CommandResults {
  detect: Detection;
  prepare: PreparedRelease;
  verifyUpload: undefined;
  launch: Launched;
  alive: boolean;
  portOwner: PortOwner;
  logTail: string;
  stop: StopOutcome;
  switch: Switched;
  drain: Drained;
  prune: string[];
  httpOnHost: HttpResult;
  /** The problems that stop supervision by systemd on this host (none: all is well). */
  supervisorCheck: string[];
  enableUnit: undefined;
  adopt: undefined;
  appendHistory: undefined;
  history: HistoryRead;
  /** The sha256 of the release's jar, as recorded at its upload and found again. */
  verifyRelease: string;
  /** mode status: everything it reports that the host itself knows. */
  status: StatusRead;
  /** What mode preflight found on the host (read only). */
  preflight: Probe;
}

export type CommandKind = keyof CommandResults;

export interface RemoteCommand<K extends CommandKind = CommandKind> {
  kind: K;
  /** What the log shows while it runs, and names in an error. */
  title: string;
  script: string;
  /** Logged at debug level only (frequent polls). */
  quiet?: boolean;
  /** How long the script waits on purpose (e.g. a stop's grace period); its deadline adds command-timeout. */
  waitMs?: number;
  /** The script's output (after exit code 0) as a typed value. */
  parse(stdout: string): CommandResults[K];
}

/** Joins script lines; builders keep one statement per line so logs and shellcheck read well. */
export function script(...lines: (string | false | undefined)[]): string {
  return lines.filter((l): l is string => typeof l === 'string').join('\n') + '\n';
}

/** The `key=value` lines of a script's output; for the parsers of the builders only. */
export function keyValues(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return values;
}

/** The value of a key the script always prints; a missing one means the script did not run as written. */
export function required(values: Map<string, string>, key: string): string {
  const value = values.get(key);
  if (value === undefined) throw new OutputError(`the remote script printed no ${key}=`);
  return value;
}

/** A number the script printed; anything else is an error, never NaN. */
export function requiredNumber(values: Map<string, string>, key: string): number {
  const text = required(values, key);
  if (!/^\d+$/.test(text)) throw new OutputError(`the remote script printed ${key}=${text}, not a number`);
  return Number(text);
}

/** Output that does not follow the script's own format. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}
