// Steps 5 and 6 alone: a stale app of ours on the idle port, and the new app (stopped by the undo list), are
// stopped by waiting for their exit: neither may still hold the port when the next step needs it.
import { stopApp } from '../../src/commands/app.js';
import { layout } from '../../src/layout.js';
import { freeIdlePort, launch } from '../../src/steps/launch.js';
import { blueLive } from '../support/fake-host.js';
import { planFor, stepContext } from './helpers.js';

const paths = layout('/opt/app');

test('a stale app on the idle port: stopped until it has exited, within stop-timeout', async () => {
  const scripts: string[] = [];
  const detection = blueLive();
  detection.ports.set(8081, { port: 8081, listening: true, ours: { pid: 9, start: '50', release: 'r0' } });
  const s = stepContext(
    { stop: (cmd) => (scripts.push(cmd.script), { how: 'exited', ms: 700 }) },
    { stopTimeoutMs: 4000 },
  );
  await freeIdlePort(s.ctx, planFor(detection));
  const app = { pid: 9, start: '50', unit: undefined };
  expect(scripts).toEqual([stopApp(paths, { app, port: 8081, timeoutMs: 4000, untilClosed: false }).script]);
  expect(scripts[0]).toContain('\nstop_group 9 50 4000 || exit 1\n');
  expect(scripts[0]).not.toContain('kill_later');
  expect(s.rows()).toEqual([['Free port 8081', 'ok', 'stale pid 9: exited after 700 ms']]);
});

test('the undo of a launch stops the new app until it has exited', async () => {
  const scripts: string[] = [];
  const s = stepContext(
    { stop: (cmd) => (scripts.push(cmd.script), { how: 'exited', ms: 10 }) },
    { stopTimeoutMs: 4000 },
  );
  await expect(launch(s.ctx, planFor(), 'r2')).resolves.toEqual({ pid: 22, start: '200' });
  await s.ctx.undo.runAll(s.log);
  expect(s.host.commands()).toEqual(['launch r2 on port 8081', 'stop pid 22 on port 8081']);
  expect(scripts).toEqual([
    stopApp(paths, { app: { pid: 22, start: '200' }, port: 8081, timeoutMs: 4000, untilClosed: false })
      .script,
  ]);
  expect(scripts[0]).toContain('\nstop_group 22 200 4000 || exit 1\n');
  expect(s.log.lines.at(-1)).toBe('info: undo: stop the new app (pid 22)');
});
