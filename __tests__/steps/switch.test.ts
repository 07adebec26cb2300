// Step 8 alone: what the summary says the switch wrote, and the nginx inputs the switch script gets.
import { asRoot } from '../../src/commands/functions.js';
import { blueLive } from '../support/fake-host.js';
import { firstDeploy, INC, planFor, stepContext, UP } from './helpers.js';
import { switchTraffic } from '../../src/steps/switch.js';

test('a first deploy with a bake window: both files written, no backup to keep', async () => {
  const s = stepContext({}, { bakeTimeMs: 2000 });
  await expect(switchTraffic(s.ctx, planFor(firstDeploy()))).resolves.toEqual([5, 6]);
  expect(s.rows()).toEqual([['Switch nginx', 'ok', `nginx routes to port 8080 (${UP}, ${INC}), reloaded`]]);
  expect(s.ctx.state.servingPort).toBe(8080);
});

test('an include that already routes to the idle port: nothing to write, nginx still reloaded', async () => {
  const detection = {
    ...blueLive(),
    include: { state: 'present' as const, text: 'set $service_url "http://localhost:8081/";\n' },
  };
  detection.ports.set(8080, {
    port: 8080,
    listening: true,
    listener: { pid: 4242, start: '7', command: 'nc -l 8080' },
  });
  const plan = planFor(detection);
  expect(plan).toMatchObject({ live: undefined, idle: 8081 });
  const s = stepContext();
  await switchTraffic(s.ctx, plan);
  expect(s.host.commands()).toEqual(['switch nginx to port 8081']);
  expect(s.rows()).toEqual([['Switch nginx', 'ok', 'nginx routes to port 8081 (files unchanged), reloaded']]);
});

test('the switch runs nginx with nginx-config, reloads it by nginx-reload, as root by sudo', async () => {
  const scripts: string[] = [];
  const s = stepContext(
    { switch: (cmd) => (scripts.push(cmd.script), { oldWorkers: [] }) },
    { nginxConfig: '/etc/nginx/alt.conf', nginxReload: 'signal', sudo: 'never' },
  );
  await switchTraffic(s.ctx, planFor());
  expect(scripts[0]).toContain(`\n${asRoot('never')}\n`);
  expect(scripts[0]).toContain('\nreload_nginx() { as_root nginx -c /etc/nginx/alt.conf -s reload; }\n');
});
