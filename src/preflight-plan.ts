// mode preflight: what a deploy with these inputs would do on this host, step by step, and which nginx files it
// would write (from the same routing functions the deploy uses), so the sudo rights asked are exactly its own.
import { javaArgv } from './commands/app.js';
import type { Probe } from './commands/preflight.js';
import type { FileChange } from './commands/nginx.js';
import { switchRootCommands, type NginxSpec, type RootCommands } from './commands/nginx-root.js';
import { unitName } from './commands/systemd.js';
import type { Settings } from './inputs.js';
import type { Layout } from './layout.js';
import { healthUrl, launchWords } from './per-port.js';
import type { PortPlan } from './plan.js';
import { quoteAll } from './shell.js';
import { bakeEndChanges, switchBackChanges, switchChanges } from './steps/routing.js';

export interface NginxFiles {
  include: string;
  upstream: string;
}

/**
 * Every routing change a deploy may make: the switch, the end of the bake window, a switch back (bake window or
 * verify-url). Without a plan (the host is refused), the files it would write in the usual case.
 */
export function deployChanges(s: Settings, plan: PortPlan | Error, files: NginxFiles): FileChange[] {
  const bake = s.bakeTimeMs > 0;
  if (plan instanceof Error) {
    const include = { path: files.include, content: '', expected: '' };
    const upstream = { path: files.upstream, content: '', expected: undefined, mustLoad: true };
    return bake ? [upstream, include] : [include];
  }
  return [
    ...switchChanges(plan, bake),
    ...(bake ? bakeEndChanges(plan) : []),
    // A switch back happens only where there is something to go back to.
    ...((bake || s.verifyUrl) && plan.live !== undefined ? switchBackChanges(plan, bake) : []),
  ];
}

/** The root commands of all those changes, each once. */
export function deployRootCommands(spec: NginxSpec, changes: readonly FileChange[]): RootCommands {
  const { all, reload } = switchRootCommands(spec, changes);
  return { all: [...new Set(all)], reload };
}

/** The include, and the upstream file when a deploy writes it: nginx must load them. */
export function mustLoad(changes: readonly FileChange[], files: NginxFiles): string[] {
  const upstream = changes.some((c) => c.path === files.upstream && c.mustLoad);
  return upstream ? [files.include, files.upstream] : [files.include];
}

function upload(s: Settings, paths: Layout, probe: Probe): string {
  if (!s.jar) return 'Upload: no jar input given, so neither the upload nor the free space for it is checked';
  const sha = s.jar.sha256.slice(0, 12);
  if (probe.reusable !== undefined) {
    return `Upload: the host has this jar (sha256 ${sha}) in ${probe.reusable}: a hard link, nothing sent`;
  }
  return `Upload: ${s.jar.path} (${s.jar.bytes} bytes, sha256 ${sha}) into a new folder in ${paths.releases}`;
}

function launch(s: Settings, paths: Layout, idle: number): string {
  if (s.supervisor !== 'none') return `Launch on ${idle}: systemctl start ${unitName(s.serviceName, idle)}`;
  const argv = javaArgv(paths, {
    releaseId: 'RELEASE',
    port: idle,
    java: s.java,
    ...launchWords(s, idle),
  });
  return `Launch on ${idle}: ${quoteAll(argv)}`;
}

function stopOld(s: Settings, plan: PortPlan): string {
  if (plan.live === undefined) return 'Stop old app: none (first deploy)';
  const old = plan.oldProcess;
  if (!old)
    return `Stop old app: none: the process on ${plan.live} is not visible to the deploy user and keeps running`;
  const unit =
    s.supervisor === 'none' ? '' : ` (${unitName(s.serviceName, plan.live)} is stopped and disabled)`;
  const who = old.ours
    ? `pid ${old.pid}`
    : `pid ${old.pid} (${old.command ?? ''}, not started by this action)`;
  return `Stop old app on ${plan.live}: ${who}${unit}: SIGTERM, SIGKILL after ${s.stopTimeoutMs / 1000} s`;
}

function switchLine(s: Settings, plan: PortPlan): string {
  const bake = s.bakeTimeMs > 0;
  const files = switchChanges(plan, bake).map((c) => c.path);
  const written = files.length > 0 ? `write ${files.join(' and ')}` : 'files unchanged';
  return `Switch nginx to ${plan.idle}: ${written}, nginx -t, reload`;
}

function bakeLine(s: Settings, plan: PortPlan): string {
  if (s.bakeTimeMs === 0) return 'Bake: skipped (bake-time is 0)';
  const backup =
    plan.live === undefined ? 'no backup (first deploy)' : `port ${plan.live} kept as nginx's backup`;
  return `Bake ${s.bakeTimeMs / 1000} s: ${backup}`;
}

/** The deploy's steps on this host, as it would run them now. */
export function deployPlan(s: Settings, paths: Layout, plan: PortPlan | Error, probe: Probe): string[] {
  if (plan instanceof Error) return [`Detect ports: a deploy would stop here: ${plan.message}`];
  const { idle, live } = plan;
  const notes = plan.notes.length > 0 ? ` (${plan.notes.join('; ')})` : '';
  const lockWait = probe.lock.held
    ? ` (held now: a deploy would wait up to ${s.lockTimeoutMs / 1000} s)`
    : '';
  return [
    `Lock ${paths.lockFile}${lockWait}`,
    ...(s.supervisor === 'none' ? [] : [`Check supervisor: ${s.supervisor}`]),
    `Detect ports: ${live === undefined ? 'first deploy' : `live ${live}`}, idle ${idle}${notes}`,
    upload(s, paths, probe),
    ...(plan.staleOnIdle
      ? [`Free the idle port: stop our stale app on ${idle} (pid ${plan.staleOnIdle.pid})`]
      : []),
    launch(s, paths, idle),
    `Health check: ${healthUrl(s, idle)} until healthy (${s.healthExpect}), at most ${s.healthTimeoutMs / 1000} s`,
    switchLine(s, plan),
    `Drain nginx: the old workers finish (at most ${s.drainTimeoutMs / 1000} s)`,
    ...(s.verifyUrl ? [`Verify through nginx: ${s.verifyUrl}`] : []),
    bakeLine(s, plan),
    ...(s.supervisor === 'none' ? [] : [`Enable at boot: ${unitName(s.serviceName, idle)}`]),
    stopOld(s, plan),
    `Prune: keep the newest ${s.keepReleases} releases`,
  ];
}
