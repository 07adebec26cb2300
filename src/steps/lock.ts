// Step 2: take the host's deploy lock, waiting up to lock-timeout for a concurrent deploy.
import { holdLock, LOCK_TIMEOUT_EXIT } from '../commands/lock.js';
import type { HeldCommand } from '../remote.js';
import type { HostContext } from './context.js';

export async function acquireLock(ctx: HostContext): Promise<HeldCommand> {
  const { settings: s, paths, log } = ctx;
  const timeoutSeconds = Math.ceil(s.lockTimeoutMs / 1000);
  return ctx.steps.run('Lock', async (detail) => {
    const command = holdLock(paths, {
      holder: ctx.lockHolder,
      timeoutSeconds,
      stopTimeoutMs: s.stopTimeoutMs,
      ...(s.supervisor === 'none' ? {} : { supervised: { sudo: s.sudo } }),
    });
    const lock = await ctx.host.hold(command);
    try {
      // The lock shell says at once whether it holds the lock or waits; then it waits up to lock-timeout.
      const first = command.event(
        await lock.waitFor([command.heldLine, command.waitingLine], s.commandTimeoutMs),
      );
      if (!first.held) {
        log.info(
          `another deploy holds the lock (${first.holder || 'unknown'}); waiting up to ${timeoutSeconds} s`,
        );
        await lock.waitFor([command.heldLine], s.lockTimeoutMs + s.commandTimeoutMs);
      }
    } catch (error) {
      if ((await lock.release()) !== LOCK_TIMEOUT_EXIT) throw error;
      // An empty record (the holder had not written it yet) says as little as none.
      const holder = command.holder(lock.output().stdout) ?? '';
      const who = holder === '' ? 'holder unknown' : holder;
      throw new Error(
        `lock-timeout: another deploy still holds ${paths.lockFile} after ${timeoutSeconds} s (${who})`,
        { cause: error },
      );
    }
    detail(`holding ${paths.lockFile}`);
    return lock;
  });
}

/** Ends the lock shell; the kernel drops the flock with it. */
export async function releaseLock(ctx: HostContext, lock: HeldCommand): Promise<void> {
  const code = await lock.release().catch(() => null);
  if (code !== 0) ctx.log.debug(`lock holder ended with ${code}: ${lock.output().stderr}`);
}
