// Supervision by systemd (supervisor: systemd | systemd-user): the check before anything changes, the unit
// instance of each port, and, once nginx routes to the new app, its instance enabled so that it starts at boot.
import { supervisorCheck, type SupervisorCheckSpec } from '../commands/systemd-launch.js';
import { enableUnit, unitName, type Unit, type UnitFileSpec } from '../commands/systemd.js';
import type { PortPlan } from '../plan.js';
import type { HostContext } from './context.js';

/** systemd's system manager, or (systemd-user) the deploy user's own. */
function scopeOf(ctx: HostContext): Unit['scope'] {
  return ctx.settings.supervisor === 'systemd' ? 'system' : 'user';
}

/** The instance that runs (or would run) the app on `port`; undefined without a supervisor. */
export function unitFor(ctx: HostContext, port: number): Unit | undefined {
  const s = ctx.settings;
  if (s.supervisor === 'none') return undefined;
  return {
    scope: scopeOf(ctx),
    name: unitName(s.serviceName, port),
    sudo: s.sudo,
  };
}

export function unitFileSpec(ctx: HostContext): UnitFileSpec {
  const s = ctx.settings;
  return {
    scope: scopeOf(ctx),
    serviceName: s.serviceName,
    root: ctx.paths.root,
    user: s.username,
    stopTimeoutMs: s.stopTimeoutMs,
  };
}

/** What the check before a launch (and mode preflight) asks of the host. */
export function supervisorCheckSpec(ctx: HostContext): SupervisorCheckSpec {
  const s = ctx.settings;
  return { unitFile: unitFileSpec(ctx), ports: [s.bluePort, s.greenPort], sudo: s.sudo };
}

/** Fails before anything is launched when the host cannot supervise the app, naming the fix. */
export async function checkSupervisor(ctx: HostContext): Promise<void> {
  const s = ctx.settings;
  if (s.supervisor === 'none') return;
  await ctx.steps.run('Check supervisor', async (detail) => {
    const problems = await ctx.host.run(supervisorCheck(supervisorCheckSpec(ctx)));
    if (problems.length > 0) throw new Error(problems.join('\n'));
    detail(
      `${s.supervisor}: ${unitName(s.serviceName, s.bluePort)} and ${unitName(s.serviceName, s.greenPort)}`,
    );
  });
}

/** The live port's instance starts at boot (the old one is disabled when it is stopped). */
export async function enableAtBoot(ctx: HostContext, plan: PortPlan): Promise<void> {
  const unit = unitFor(ctx, plan.idle);
  if (!unit) return;
  await ctx.steps.run('Enable at boot', async (detail) => {
    await ctx.host.run(enableUnit(unit));
    detail(`${unit.name} enabled`);
  });
}
