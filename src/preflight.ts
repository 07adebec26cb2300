// mode: preflight. Changes nothing: checks everything a deploy with these inputs needs, one row per check with
// ok / fail and the fix, and the plan the deploy would follow. The step fails if a deploy would.
// Three read-only commands: the deploy's own detection, one probe script, and (with a supervisor) the deploy's
// own supervisor check; everything else is decided in TypeScript (preflight-checks.ts, preflight-plan.ts).
import { detectPorts } from './commands/detect.js';
import { preflightProbe } from './commands/preflight.js';
import { supervisorCheck } from './commands/systemd-launch.js';
import { defaultUpstreamFile } from './nginx-upstream.js';
import { HostStateError, planPorts, PortConflictError, type PortPlan } from './plan.js';
import { preflightChecks } from './preflight-checks.js';
import { deployChanges, deployPlan, deployRootCommands, mustLoad } from './preflight-plan.js';
import type { HostContext } from './steps/context.js';
import { supervisorCheckSpec } from './steps/supervise.js';

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

/** One row as the Actions log shows it. */
export function checkLine(c: PreflightCheck): string {
  return `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${c.fix === undefined ? '' : ` (fix: ${c.fix})`}`;
}

/** The deploy's own detection and port plan; a host it would refuse is a failed row, not an error. */
async function detect(
  ctx: HostContext,
  files: { include: string; upstream: string },
): Promise<PortPlan | Error> {
  const s = ctx.settings;
  const detection = await ctx.host.run(detectPorts(ctx.paths, files, [s.bluePort, s.greenPort]));
  try {
    return planPorts(detection, {
      blue: s.bluePort,
      green: s.greenPort,
      includePath: files.include,
      upstreamPath: files.upstream,
      bake: s.bakeTimeMs > 0,
    });
  } catch (error) {
    if (error instanceof PortConflictError || error instanceof HostStateError) return error;
    throw error;
  }
}

export async function preflightHost(ctx: HostContext): Promise<PreflightReport> {
  const s = ctx.settings;
  const files = {
    include: s.nginxInclude,
    upstream: s.nginxUpstreamFile ?? defaultUpstreamFile(s.nginxInclude),
  };
  return ctx.steps.run('Preflight', async (detail) => {
    const plan = await detect(ctx, files);
    const changes = deployChanges(s, plan, files);
    const root = deployRootCommands(ctx.nginx, changes);
    const loads = mustLoad(changes, files);
    const probe = await ctx.host.run(
      preflightProbe(ctx.paths, {
        java: s.java,
        ...(s.jar ? { jarSha256: s.jar.sha256 } : {}),
        sudo: s.sudo,
        nginx: ctx.nginx,
        root,
        mustLoad: loads,
      }),
    );
    const supervisorProblems =
      s.supervisor === 'none' ? undefined : await ctx.host.run(supervisorCheck(supervisorCheckSpec(ctx)));
    const checks = preflightChecks({
      settings: s,
      paths: ctx.paths,
      probe,
      root,
      mustLoad: loads,
      plan,
      supervisorProblems,
    });
    const steps = deployPlan(s, ctx.paths, plan, probe);
    checks.forEach((c) => ctx.log.info(checkLine(c)));
    ctx.log.info('A deploy would:');
    steps.forEach((line, i) => ctx.log.info(`  ${i + 1}. ${line}`));
    const failed = checks.filter((c) => !c.ok).length;
    detail(
      failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`,
    );
    return { checks, plan: steps };
  });
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function hostSection(o: PreflightOutcome): string[] {
  if (!o.report)
    return [`### ❌ ${o.host}: could not be checked`, '', '```', o.error ?? 'unknown error', '```', ''];
  const failed = o.report.checks.filter((c) => !c.ok).length;
  return [
    failed === 0
      ? `### ✅ ${o.host}: ready to deploy`
      : `### ❌ ${o.host}: ${failed} of ${o.report.checks.length} checks failed`,
    '',
    '| Check | Result | Detail | Fix |',
    '| --- | --- | --- | --- |',
    ...o.report.checks.map(
      (c) =>
        `| ${cell(c.name)} | ${c.ok ? '✅ ok' : '❌ failed'} | ${cell(c.detail)} | ${c.fix === undefined ? '' : cell(c.fix)} |`,
    ),
    '',
    'A deploy would:',
    '',
    ...o.report.plan.map((line, i) => `${i + 1}. ${cell(line)}`),
    '',
  ];
}

/** Whether a deploy would go through on every host: no failed check, no host that could not be checked. */
export function preflightPassed(hosts: readonly PreflightOutcome[]): boolean {
  return hosts.every((h) => h.report?.checks.every((c) => c.ok) ?? false);
}

export function preflightMarkdown(hosts: readonly PreflightOutcome[]): string {
  const title = preflightPassed(hosts)
    ? '## Preflight passed: a deploy can go ahead'
    : '## Preflight failed: a deploy would not go through';
  return [title, '', ...hosts.flatMap(hostSection)].join('\n');
}
