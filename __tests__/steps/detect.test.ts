// Step 3 alone: what detection is asked on the host, and what the step says it found.
import { detectPorts } from '../../src/commands/detect.js';
import { layout } from '../../src/layout.js';
import { detectLive } from '../../src/steps/detect.js';
import { firstDeploy, stepContext } from './helpers.js';

test('the host is asked about blue-port and green-port, the include and its upstream file', async () => {
  const scripts: string[] = [];
  const files = { include: '/etc/nginx/snippets/shop.inc', upstream: '/etc/nginx/conf.d/shop-up.conf' };
  const { ctx, rows } = stepContext(
    { detect: (cmd) => (scripts.push(cmd.script), firstDeploy()) },
    { bluePort: 9000, greenPort: 9001, nginxInclude: files.include, nginxUpstreamFile: files.upstream },
  );
  await detectLive(ctx);
  expect(scripts).toEqual([detectPorts(layout('/opt/app'), files, [9000, 9001]).script]);
  expect(scripts[0]).toContain('set -- 9000 9001 $(named_ports "$inc" "$up")');
  expect(rows()).toEqual([['Detect ports', 'ok', 'first deploy: idle 9000']]);
});

test('live and idle ports in the summary; the plan notes in the log; the state knows the live port', async () => {
  const deployed = stepContext();
  await expect(detectLive(deployed.ctx)).resolves.toMatchObject({ live: 8080, idle: 8081 });
  expect(deployed.rows()).toEqual([['Detect ports', 'ok', 'live 8080, idle 8081']]);
  expect(deployed.ctx.state).toEqual({ previousPort: 8080, previousRelease: 'r1', servingPort: 8080 });

  const first = stepContext({ detect: firstDeploy });
  await expect(detectLive(first.ctx)).resolves.toMatchObject({ live: undefined, idle: 8080 });
  expect(first.rows()).toEqual([['Detect ports', 'ok', 'first deploy: idle 8080']]);
  expect(first.log.lines).toEqual([
    'group: Detect ports',
    'info: the nginx include is missing: this is a first deploy, it will be written',
    'info: first deploy: idle 8080',
    'info: Detect ports: ok in 0.00 s',
    'endgroup',
  ]);
  expect(first.ctx.state).toEqual({ previousPort: undefined, servingPort: undefined });
});
