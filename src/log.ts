// The Actions log, behind an interface: core in production, a recorder in unit tests. With several hosts
// deploying at once, each line carries its host instead of collapsible groups (groups cannot interleave).
import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';

export interface Log {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  startGroup(name: string): void;
  endGroup(): void;
  /** Text from the host (the app's log): shown as it is, never run as a workflow command (`::error::`...). */
  verbatim(text: string): void;
}

export const actionsLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  debug: (m) => core.debug(m),
  startGroup: (n) => core.startGroup(n),
  endGroup: () => core.endGroup(),
  verbatim: (text) => {
    // The runner ignores workflow commands until it sees `::TOKEN::`; the token cannot appear in the text.
    const token = `bgd-${randomBytes(12).toString('hex')}`;
    core.info(`::stop-commands::${token}`);
    core.info(text);
    core.info(`::${token}::`);
  },
};

/** For hosts deploying in parallel: prefix every line, no groups. */
export function prefixedLog(base: Log, prefix: string): Log {
  const p = (m: string) =>
    m
      .split('\n')
      .map((line) => `[${prefix}] ${line}`)
      .join('\n');
  return {
    info: (m) => base.info(p(m)),
    warning: (m) => base.warning(p(m)),
    error: (m) => base.error(p(m)),
    debug: (m) => base.debug(p(m)),
    startGroup: (n) => base.info(p(`── ${n}`)),
    endGroup: () => undefined,
    verbatim: (text) => base.verbatim(p(text)),
  };
}
