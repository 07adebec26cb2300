// mode: preflight. Changes nothing: checks everything a deploy with these inputs needs, one row per check with
// ok / fail and the fix, and the plan the deploy would follow. The step fails if a deploy would.
import type { HostContext } from './steps/context.js';

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failed check. */
  fix?: string;
}

export interface PreflightReport {
  checks: PreflightCheck[];
  /** The deploy's steps as it would run them on this host. */
  plan: string[];
}

export interface PreflightOutcome {
  host: string;
  report?: PreflightReport;
  /** The host could not be checked at all (e.g. the connection or the host key failed). */
  error?: string;
}

export function preflightHost(_ctx: HostContext): Promise<PreflightReport> {
  return Promise.reject(new Error('mode preflight is not implemented yet'));
}

export function preflightMarkdown(hosts: readonly PreflightOutcome[]): string {
  return hosts.map((h) => `${h.host}: ${h.error ?? 'ok'}`).join('\n');
}
