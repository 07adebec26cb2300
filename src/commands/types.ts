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
