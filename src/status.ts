// mode: status. Changes nothing: per host, which release runs on which port and since when, supervised or not,
// its health, what nginx routes to, whether a deploy holds the lock, and the last deploys.
import type { HostContext } from './steps/context.js';

export interface HostStatus {
  /** Filled in by the status implementation. */
  notes: string[];
}

export interface StatusOutcome {
  host: string;
  status?: HostStatus;
  /** Why the host could not be read (e.g. the connection failed). */
  error?: string;
}

export function hostStatus(_ctx: HostContext): Promise<HostStatus> {
  return Promise.reject(new Error('mode status is not implemented yet'));
}

export function statusMarkdown(hosts: readonly StatusOutcome[]): string {
  return hosts.map((h) => `${h.host}: ${h.error ?? 'ok'}`).join('\n');
}
