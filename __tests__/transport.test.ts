// The SSH transport against a real sshd: every wait has a deadline. A remote command that hangs is stopped at
// (its own wait +) command-timeout, a held command's wait for a line ends at its deadline, and neither leaves
// a process behind on the host.
import { parseKnownHosts } from '../src/host-key.js';
import type { Log } from '../src/log.js';
import { connectSsh } from '../src/ssh/connect.js';
import type { SshRemote } from '../src/ssh/remote.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { listProcesses, processAlive } from '../test-target/processes.js';
import { waitUntil } from '../test-target/wait.js';

const quiet: Log = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  startGroup: () => undefined,
  endGroup: () => undefined,
  verbatim: () => undefined,
};

let target: Target;
let remote: SshRemote;
beforeAll(async () => {
  target = await startTarget();
  remote = await connectSsh({
    host: target.host,
    port: target.sshPort,
    username: target.username,
    privateKey: target.privateKey,
    policy: { entries: parseKnownHosts(target.knownHosts), fingerprints: [] },
    strictHostKeyChecking: true,
    timeoutMs: 10_000,
    commandTimeoutMs: 1000,
    log: quiet,
  });
}, 30_000);
afterAll(async () => {
  await remote.close();
  await target.stop();
});

/** Live processes whose command line is exactly `sleep SECONDS` (the host shares this machine's /proc). */
function noSleep(seconds: string): () => boolean {
  return () => !listProcesses().some((p) => p.cmdline.trim() === `sleep ${seconds}` && processAlive(p.pid));
}

test('a command that hangs fails at command-timeout, naming it, and is stopped on the host', async () => {
  const started = Date.now();
  await expect(remote.exec({ title: 'hang', script: 'sleep 31.5; echo never' })).rejects.toThrow(
    `hang: no end within 1 s on ${target.host}:${target.sshPort}; the command was stopped. ` +
      'A remote command hangs (a stuck mount, nginx -t waiting for a name server?): fix the host, or raise command-timeout',
  );
  expect(Date.now() - started).toBeLessThan(10_000);
  await waitUntil('no sleep 31.5 left on the host', noSleep('31.5'), { timeoutMs: 10_000 });
  // The connection still serves the next command.
  expect(await remote.exec({ title: 'next', script: 'echo ok' })).toEqual({
    code: 0,
    stdout: 'ok\n',
    stderr: '',
  });
});

test('a command given a wait of its own gets that long plus command-timeout', async () => {
  const r = await remote.exec({ title: 'waits', script: 'sleep 1.5; echo done', waitMs: 2000 });
  expect(r).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
  await expect(remote.exec({ title: 'waits too long', script: 'sleep 32.5', waitMs: 500 })).rejects.toThrow(
    /^waits too long: no end within 1\.5 s on /,
  );
  await waitUntil('no sleep 32.5 left on the host', noSleep('32.5'), { timeoutMs: 10_000 });
});

test('a held command: the wait for a line ends at its deadline, and release ends the command', async () => {
  const held = await remote.hold({ title: 'held', script: 'echo first; sleep 33.5' });
  expect(await held.waitFor([/^first$/], 5000)).toBe('first');
  const started = Date.now();
  await expect(held.waitFor([/^second$/], 300)).rejects.toThrow('no answer from the host within 0.3 s');
  expect(Date.now() - started).toBeLessThan(5000);
  await held.release();
  await waitUntil('no sleep 33.5 left on the host', noSleep('33.5'), { timeoutMs: 15_000 });
});
