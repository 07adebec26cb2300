/** A remote step: a POSIX sh script, run as `sh -c <script>`, and a title for the log. */
export interface RemoteCommand {
  title: string;
  script: string;
  /** Logged at debug level only (frequent polls). */
  quiet?: boolean;
}

/** Joins script lines; builders keep one statement per line so logs and shellcheck read well. */
export function script(...lines: (string | false | undefined)[]): string {
  return lines.filter((l): l is string => typeof l === 'string').join('\n') + '\n';
}

/** Scripts report results as `key=value` lines on stdout. */
export function parseKeyValues(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return values;
}
