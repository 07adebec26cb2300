// Step 7: the new app must answer healthy on its own port before nginx sends it anything. A crash fails the
// step at once; on any failure the app's log tail is shown (secret values cut out).
import { isAlive, logTail, portOwner, type AppProcess } from '../commands/app.js';
import { pollHealth } from '../health.js';
import { healthPortFor, healthUrl, secretValues } from '../per-port.js';
import type { PortPlan } from '../plan.js';
import { DeployCancelled, type HostContext } from './context.js';

export const LOG_TAIL_LINES = 40;

export async function healthGate(
  ctx: HostContext,
  plan: PortPlan,
  app: AppProcess,
  releaseId: string,
): Promise<void> {
  const { settings: s, host } = ctx;
  await ctx.steps.run('Health check', async (detail) => {
    const url = healthUrl(s, plan.idle);
    const outcome = await pollHealth({
      probe: (ms) => host.httpGet(url, ms),
      probeTimeoutMs: s.healthProbeTimeoutMs,
      alive: () => host.run(isAlive(app)),
      expect: s.healthExpect,
      timeoutMs: s.healthTimeoutMs,
      intervalMs: s.healthIntervalMs,
      onProgress: (m) => ctx.log.info(m),
      signal: ctx.signal,
      now: () => ctx.clock.now(),
      sleep: (ms) => ctx.clock.sleep(ms),
    });
    if (outcome.healthy) {
      await ensureOurs(ctx, app, plan.idle);
      // A management port too: a stranger there could answer healthy for an app that is not.
      const healthPort = healthPortFor(s, plan.idle);
      if (healthPort !== plan.idle) await ensureOurs(ctx, app, healthPort);
      detail(`${url} healthy after ${(outcome.elapsedMs / 1000).toFixed(2)} s (${outcome.attempts} polls)`);
      return;
    }
    if (outcome.reason === 'aborted') throw new DeployCancelled();
    await showLogTail(ctx, releaseId);
    throw new Error(
      outcome.reason === 'exited'
        ? `the new app (pid ${app.pid}) exited before it became healthy; last answer: ${outcome.last}`
        : `${url} was not healthy within ${s.healthTimeoutMs / 1000} s; last answer: ${outcome.last}`,
    );
  });
}

const MAX_LINE = 2000;

/** Lines longer than MAX_LINE characters are cut, saying how much. */
export function capLines(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line.length > MAX_LINE
        ? `${line.slice(0, MAX_LINE)}… (${line.length - MAX_LINE} more characters)`
        : line,
    )
    .join('\n');
}

/** The answer must come from the app this deploy launched (or a process of its own), never a stranger. */
async function ensureOurs(ctx: HostContext, app: AppProcess, port: number): Promise<void> {
  const found = await ctx.host.run(portOwner(app, port));
  if (found.owner === 'ours') return;
  const who =
    found.owner === 'foreign' ? `pid ${found.pids.join(', ')}` : 'a process the deploy user cannot see';
  throw new Error(
    `port ${port} answered healthy, but it is served by ${who}, not by the app this deploy launched (pid ${app.pid}); nothing was switched`,
  );
}

/** The app may log its own environment: secret-env values are cut out here, not left to the runner's mask. */
async function showLogTail(ctx: HostContext, releaseId: string): Promise<void> {
  const tail = await ctx.host.run(logTail(ctx.paths, releaseId, LOG_TAIL_LINES));
  const secrets = secretValues(ctx.settings);
  const shown = secrets.reduce((text, secret) => text.split(secret).join('***'), tail);
  ctx.log.info(`Last ${LOG_TAIL_LINES} lines of ${ctx.paths.log(releaseId)}:`);
  ctx.log.verbatim(capLines(shown));
}
