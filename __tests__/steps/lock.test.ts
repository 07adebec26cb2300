// Step 2 alone: waiting for another deploy's lock, a lock-timeout that names who holds it, and the end of the
// lock shell.
import { asRoot } from '../../src/commands/functions.js';
import type { HeldCommand } from '../../src/remote.js';
import { acquireLock, releaseLock } from '../../src/steps/lock.js';
import { rejection, stepContext } from './helpers.js';

test('held by a deploy that has not written who it is yet: waits for "unknown"', async () => {
  const s = stepContext({}, { lockTimeoutMs: 90_000 });
  s.host.lock = { lines: ['waiting=', 'locked'], exit: 0 };
  await acquireLock(s.ctx);
  expect(s.log.lines).toEqual([
    'group: Lock',
    'info: another deploy holds the lock (unknown); waiting up to 90 s',
    'info: holding /opt/app/.deploy.lock',
    'info: Lock: ok in 0.00 s',
    'endgroup',
  ]);
});

test('each wait has a deadline: command-timeout for the first line, then lock-timeout on top', async () => {
  const s = stepContext({}, { lockTimeoutMs: 90_000, commandTimeoutMs: 7000 });
  s.host.lock = { lines: ['waiting=x', 'locked'], exit: 0 };
  await acquireLock(s.ctx);
  expect(s.host.lockWaits).toEqual([7000, 97_000]);
});

test.each([
  ['no holder line', 'waiting=\n'],
  ['an empty holder line', 'waiting=\nholder=\n'],
  ['a blank holder line', 'waiting=\nholder=  \n'],
])('lock-timeout with %s: "holder unknown"', async (_what, stdout) => {
  const s = stepContext({}, { lockTimeoutMs: 2000 });
  s.host.lock = { lines: ['waiting='], exit: 75, stdout };
  const error = await rejection(acquireLock(s.ctx));
  expect(error.message).toBe(
    'Lock failed: lock-timeout: another deploy still holds /opt/app/.deploy.lock after 2 s (holder unknown)',
  );
});

test('with a supervisor the lock shell can stop a half-started unit as root, by the sudo input', async () => {
  const s = stepContext({}, { supervisor: 'systemd', sudo: 'always' });
  await acquireLock(s.ctx);
  expect(s.host.lockScripts[0]).toContain(`\n${asRoot('always')}\n`);
  expect(asRoot('always')).toBe('as_root() { sudo -n -- "$@"; }');
  const none = stepContext({}, { supervisor: 'none', sudo: 'always' });
  await acquireLock(none.ctx);
  expect(none.host.lockScripts[0]).not.toContain('as_root');
});

function held(release: () => Promise<number>): HeldCommand {
  return {
    waitFor: () => Promise.resolve('locked'),
    release,
    output: () => ({ stdout: 'locked\n', stderr: 'watchdog: stopping half-started app 22 on port 8081\n' }),
  };
}

test('a lock shell that ends cleanly says nothing', async () => {
  const s = stepContext();
  await releaseLock(
    s.ctx,
    held(() => Promise.resolve(0)),
  );
  expect(s.log.lines).toEqual([]);
});

test('a lock shell that ends otherwise: its exit code and what it printed, at debug level', async () => {
  const s = stepContext();
  await releaseLock(
    s.ctx,
    held(() => Promise.resolve(1)),
  );
  await releaseLock(
    s.ctx,
    held(() => Promise.reject(new Error('connection lost'))),
  );
  expect(s.log.lines).toEqual([
    'debug: lock holder ended with 1: watchdog: stopping half-started app 22 on port 8081\n',
    'debug: lock holder ended with null: watchdog: stopping half-started app 22 on port 8081\n',
  ]);
});
