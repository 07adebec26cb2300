// A switch back alone: nginx back to the old app with both routing files as they were, then the new app stopped
// once no worker routes to it.
import { switchBack } from '../../src/steps/switch-back.js';
import { firstDeploy, INC, planFor, stepContext, UP } from './helpers.js';

const APP = { pid: 22, start: '200' };

function switchingBack(bakeTimeMs: number) {
  const scripts: string[] = [];
  const s = stepContext(
    {
      switch: (cmd) => (scripts.push(cmd.script), { oldWorkers: [7] }),
      stop: (cmd) => (scripts.push(cmd.script), { how: 'exited', ms: 10 }),
    },
    { bakeTimeMs, stopTimeoutMs: 3000 },
  );
  return { ...s, scripts };
}

test('after a bake window: the group it wrote is removed, the include gets its bytes back', async () => {
  const s = switchingBack(2000);
  await expect(switchBack(s.ctx, planFor(), APP)).resolves.toBe(true);
  expect(s.host.commands()).toEqual([
    'switch nginx back to port 8080',
    'wait for 1 old nginx workers',
    'stop pid 22 on port 8081',
  ]);
  expect(s.scripts[0]).toContain(`\nf0=${UP}\n`);
  expect(s.scripts[0]).toContain(`\nf1=${INC}\n`);
  expect(s.scripts[0]).toContain('\nif ! { as_root rm -f "$f0" && write_file "$f1" "$new1"; }; then\n');
  expect(s.log.lines).toEqual(['info: nginx routes to port 8080 again']);
  expect(s.ctx.state.servingPort).toBe(8080);
});

test('without a bake window only the include is put back', async () => {
  const s = switchingBack(0);
  await switchBack(s.ctx, planFor(), APP);
  expect(s.scripts[0]).toContain(`\nf0=${INC}\n`);
  expect(s.scripts[0]).toContain('\nif ! { write_file "$f0" "$new0"; }; then\n');
});

test('the new app is stopped until it has exited, within stop-timeout', async () => {
  const s = switchingBack(2000);
  await switchBack(s.ctx, planFor(), APP);
  expect(s.scripts[1]).toContain('\nstop_group 22 200 3000 || exit 1\n');
  expect(s.scripts[1]).not.toContain('kill_later');
});

test('a first deploy: nothing to go back to, nothing run', async () => {
  const s = switchingBack(2000);
  await expect(switchBack(s.ctx, planFor(firstDeploy()), APP)).resolves.toBe(false);
  expect(s.host.ran).toEqual([]);
  expect(s.log.lines).toEqual(['warning: first deploy: there is no previous version to switch back to']);
});
