// What a target serves right now, read from the target itself (not from what an earlier test did), so that
// each test can start from whatever state it finds: the version through nginx, its port, its pid.
import { buildDemoJar } from '../../test-target/demo-jar.js';
import { runAction, targetInputs } from '../../test-target/run-action.js';
import type { Target } from '../../test-target/target.js';
import { waitUntil } from '../../test-target/wait.js';
import { expectSuccess } from './action.js';

export interface Live {
  version: string;
  port: number;
  pid: number;
}

/** The other port of the pair. */
export function otherPort(target: Target, port: number): number {
  return port === target.bluePort ? target.greenPort : target.bluePort;
}

/** The version nginx serves, its port and the app process on it; null when nothing serves. */
export async function serving(target: Target): Promise<Live | null> {
  const answer = await target.get('/');
  const m = /^version=(\S+) port=(\d+)\n$/.exec(answer.body);
  if (answer.status !== 200 || !m) return null;
  const port = Number(m[2]);
  const apps = target.appsOn(port);
  if (apps.length !== 1) throw new Error(`expected one app on ${port}, have ${JSON.stringify(apps)}`);
  return { version: m[1], port, pid: apps[0].pid };
}

/** Resolves once the target runs exactly one app (a stopped old app may take a moment to exit). */
export async function settled(target: Target, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    () => `a single app on the target (have ${JSON.stringify(target.appProcesses())})`,
    () => target.appProcesses().length === 1,
    { timeoutMs },
  );
}

/** Resolves once at most one app runs: an old app finishing its graceful shutdown after a deploy has exited. */
export async function quiet(target: Target, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    () => `at most one app on the target (have ${JSON.stringify(target.appProcesses())})`,
    () => target.appProcesses().length <= 1,
    { timeoutMs },
  );
}

/**
 * What serves now, once only one app runs; when nothing serves, `version` is deployed first (so a test can run
 * alone, or after a test that left the target empty).
 */
export async function ensureServing(target: Target, version = 'base'): Promise<Live> {
  const now = await serving(target);
  if (!now) {
    const r = await runAction({ inputs: targetInputs(target, { jar: await buildDemoJar({ version }) }) });
    expectSuccess(r, `the deploy of ${version}`);
  }
  await settled(target);
  const live = await serving(target);
  if (!live) throw new Error(`nothing serves through ${target.nginxUrl}`);
  return live;
}
