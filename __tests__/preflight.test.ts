// preflightHost against the fake host: the read-only commands it runs (the deploy's detection, the probe with
// the deploy's own root commands and files, the deploy's supervisor check), its log, its report and plan;
// preflightMarkdown.
import type { RemoteCommand } from '../src/commands/types.js';
import { PortConflictError } from '../src/plan.js';
import {
  checkLine,
  preflightHost,
  preflightMarkdown,
  preflightPassed,
  type PreflightOutcome,
} from '../src/preflight.js';
import { deployChanges, deployRootCommands, mustLoad } from '../src/preflight-plan.js';
import { blueLive, readyProbe } from './support/fake-host.js';
import { firstDeploy, INC, planFor, rejection, stepContext, UP } from './steps/helpers.js';

describe('preflightHost', () => {
  test('a ready host: detect, probe; every row logged; the plan; one step', async () => {
    let probe: RemoteCommand<'preflight'> | undefined;
    const { ctx, host, log, rows } = stepContext({
      preflight: (cmd) => ((probe = cmd), { ...readyProbe(), loaded: ['yes'] }),
    });
    const report = await preflightHost(ctx);
    expect(host.ran).toEqual(['detect live port (/etc/nginx/conf.d/service-url.inc)', 'preflight checks']);
    // The probe asks about exactly the deploy's own root commands and files.
    const changes = deployChanges(ctx.settings, planFor(), { include: INC, upstream: UP });
    expect(probe?.script).toContain(`f=${INC}\n`);
    expect(probe?.script).not.toContain(`f=${UP}\n`);
    for (const [i, c] of deployRootCommands(ctx.nginx, changes).all.entries()) {
      expect(probe?.script).toContain(`echo "sudo_${i}=$(may ${c})"`);
    }
    expect(report.checks.every((c) => c.ok)).toBe(true);
    expect(report.plan).toEqual([
      'Lock /opt/app/.deploy.lock',
      'Detect ports: live 8080, idle 8081',
      `Upload: ${ctx.settings.jar?.path} (1000 bytes, sha256 aaaaaaaaaaaa) into a new folder in /opt/app/releases`,
      'Launch on 8081: java -jar /opt/app/releases/RELEASE/app.jar --server.port=8081',
      'Health check: http://127.0.0.1:8081/actuator/health until healthy (UP), at most 2 s',
      `Switch nginx to 8081: write ${INC}, nginx -t, reload`,
      'Drain nginx: the old workers finish (at most 1 s)',
      'Bake: skipped (bake-time is 0)',
      'Stop old app on 8080: pid 11: SIGTERM, SIGKILL after 1 s',
      'Prune: keep the newest 5 releases',
    ]);
    expect(rows()).toEqual([['Preflight', 'ok', 'all 11 checks passed']]);
    expect(log.lines).toContain('info: ✓ ports: live 8080 (pid 11, ours); idle 8081 free');
    expect(log.lines).toContain('info: A deploy would:');
    expect(log.lines).toContain('info:   10. Prune: keep the newest 5 releases');
  });

  test('with a supervisor, a bake window, verify-url, a re-use and a held lock: the supervisor check runs; the plan says so', async () => {
    const { ctx, host } = stepContext(
      {
        preflight: () => ({
          ...readyProbe(),
          reusable: '/opt/app/releases/r1',
          lock: { held: true, info: 'run 7' },
        }),
        supervisorCheck: () => [
          'supervisor: systemd-user needs lingering for deploy: run once as root: loginctl enable-linger deploy',
        ],
      },
      { supervisor: 'systemd-user', bakeTimeMs: 10000, verifyUrl: 'http://127.0.0.1/health' },
    );
    const report = await preflightHost(ctx);
    expect(host.ran).toEqual([
      'detect live port (/etc/nginx/conf.d/service-url.inc)',
      'preflight checks',
      'check supervisor systemd-user',
    ]);
    expect(report.checks.filter((c) => !c.ok)).toEqual([
      {
        name: 'supervisor',
        ok: false,
        detail: 'a deploy would stop at Check supervisor',
        fix: 'systemd-user needs lingering for deploy: run once as root: loginctl enable-linger deploy',
      },
    ]);
    expect(report.plan).toEqual([
      'Lock /opt/app/.deploy.lock (held now: a deploy would wait up to 1 s)',
      'Check supervisor: systemd-user',
      'Detect ports: live 8080, idle 8081',
      'Upload: the host has this jar (sha256 aaaaaaaaaaaa) in /opt/app/releases/r1: a hard link, nothing sent',
      'Launch on 8081: systemctl start app@8081.service',
      'Health check: http://127.0.0.1:8081/actuator/health until healthy (UP), at most 2 s',
      `Switch nginx to 8081: write ${UP} and ${INC}, nginx -t, reload`,
      'Drain nginx: the old workers finish (at most 1 s)',
      'Verify through nginx: http://127.0.0.1/health',
      "Bake 10 s: port 8080 kept as nginx's backup",
      'Enable at boot: app@8081.service',
      'Stop old app on 8080: pid 11 (app@8080.service is stopped and disabled): SIGTERM, SIGKILL after 1 s',
      'Prune: keep the newest 5 releases',
    ]);
  });

  test('a host the deploy would refuse: a failed row and a one-line plan, the probe still runs', async () => {
    const taken = blueLive();
    taken.ports.set(8081, {
      port: 8081,
      listening: true,
      listener: { pid: 9, start: '1', command: 'nc -l 8081' },
    });
    const { ctx, host, rows } = stepContext({ detect: () => taken });
    const report = await preflightHost(ctx);
    expect(host.ran).toHaveLength(2);
    const message =
      'idle port 8081 is held by pid 9 (nc -l 8081), which this action did not start; refusing to touch it. Stop it, or choose other blue-port/green-port values.';
    expect(report.checks.find((c) => c.name === 'ports')).toEqual({
      name: 'ports',
      ok: false,
      detail: 'a deploy would refuse this host',
      fix: message,
    });
    expect(report.plan).toEqual([`Detect ports: a deploy would stop here: ${message}`]);
    expect(rows()).toEqual([['Preflight', 'ok', '1 of 11 checks failed']]);
  });

  test('a first deploy without a jar; notes in the plan', async () => {
    const { ctx } = stepContext({ detect: firstDeploy }, { jar: undefined });
    const report = await preflightHost(ctx);
    expect(report.checks.map((c) => c.name)).not.toContain('free space');
    expect(report.plan.slice(1, 3)).toEqual([
      'Detect ports: first deploy, idle 8080 (the nginx include is missing: this is a first deploy, it will be written)',
      'Upload: no jar input given, so neither the upload nor the free space for it is checked',
    ]);
    expect(report.plan).toContain('Stop old app: none (first deploy)');
  });

  test('a command that fails is an error of the host (the step fails)', async () => {
    const { ctx } = stepContext({ preflight: () => new Error('connection lost') });
    expect((await rejection(preflightHost(ctx))).message).toBe('Preflight failed: connection lost');
  });
});

describe('the files and rights of a deploy', () => {
  const files = { include: INC, upstream: UP };
  test('bake window and verify-url: switch, end of bake, switch back; each command once', () => {
    const { ctx } = stepContext({}, { bakeTimeMs: 10000, verifyUrl: 'http://x/' });
    const changes = deployChanges(ctx.settings, planFor(), files);
    expect(changes.map((c) => c.path)).toEqual([UP, INC, UP, UP, INC]);
    expect(mustLoad(changes, files)).toEqual([INC, UP]);
    expect(deployRootCommands(ctx.nginx, changes)).toEqual({
      all: [
        'nginx -t',
        'nginx -T',
        `tee ${UP}.tmp`,
        `chmod 644 ${UP}.tmp`,
        `mv -f ${UP}.tmp ${UP}`,
        `rm -f ${UP}.tmp`,
        `rm -f ${UP}`,
        `tee ${INC}.tmp`,
        `chmod 644 ${INC}.tmp`,
        `mv -f ${INC}.tmp ${INC}`,
        `rm -f ${INC}.tmp`,
      ],
      reload: [
        {
          command: 'systemctl reload nginx',
          when: '[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1',
        },
        {
          command: 'service nginx reload',
          when: 'command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ]',
        },
        { command: 'nginx -s reload' },
      ],
    });
  });

  test('a first deploy with a bake window: no backup to drop, no switch back; a refused host: the usual files', () => {
    const { ctx } = stepContext({}, { bakeTimeMs: 10000 });
    const first = deployChanges(ctx.settings, planFor(firstDeploy()), files);
    expect(first.map((c) => [c.path, c.content === undefined, c.expected === undefined])).toEqual([
      [UP, false, true],
      [INC, false, true],
    ]);
    const refused = deployChanges(ctx.settings, new PortConflictError('x'), files);
    expect(refused).toEqual([
      { path: UP, content: '', expected: undefined, mustLoad: true },
      { path: INC, content: '', expected: '' },
    ]);
    expect(deployChanges({ ...ctx.settings, bakeTimeMs: 0 }, new PortConflictError('x'), files)).toEqual([
      { path: INC, content: '', expected: '' },
    ]);
  });
});

describe('preflightMarkdown', () => {
  const ok: PreflightOutcome = {
    host: 'a',
    report: {
      checks: [{ name: 'java', ok: true, detail: '/usr/bin/java: openjdk 21' }],
      plan: ['Lock x', 'Prune | y'],
    },
  };
  const bad: PreflightOutcome = {
    host: 'b:2222',
    report: {
      checks: [
        { name: 'java', ok: true, detail: 'ok' },
        { name: 'sudo', ok: false, detail: 'deploy may not run with sudo: nginx -t', fix: 'add a | b\nline' },
      ],
      plan: ['Lock x'],
    },
  };
  test('all ready', () => {
    expect(preflightPassed([ok])).toBe(true);
    expect(preflightMarkdown([ok])).toBe(
      [
        '## Preflight passed: a deploy can go ahead',
        '',
        '### ✅ a: ready to deploy',
        '',
        '| Check | Result | Detail | Fix |',
        '| --- | --- | --- | --- |',
        '| java | ✅ ok | /usr/bin/java: openjdk 21 |  |',
        '',
        'A deploy would:',
        '',
        '1. Lock x',
        '2. Prune \\| y',
        '',
      ].join('\n'),
    );
  });

  test('a failed check and a host that could not be checked', () => {
    const down: PreflightOutcome = { host: 'c', error: 'Connect failed: host key mismatch' };
    expect(preflightPassed([ok, bad])).toBe(false);
    expect(preflightPassed([ok, down])).toBe(false);
    expect(preflightMarkdown([bad, down])).toBe(
      [
        '## Preflight failed: a deploy would not go through',
        '',
        '### ❌ b:2222: 1 of 2 checks failed',
        '',
        '| Check | Result | Detail | Fix |',
        '| --- | --- | --- | --- |',
        '| java | ✅ ok | ok |  |',
        '| sudo | ❌ failed | deploy may not run with sudo: nginx -t | add a \\| b line |',
        '',
        'A deploy would:',
        '',
        '1. Lock x',
        '',
        '### ❌ c: could not be checked',
        '',
        '```',
        'Connect failed: host key mismatch',
        '```',
        '',
      ].join('\n'),
    );
  });

  test('the log line of a row', () => {
    expect(checkLine({ name: 'java', ok: true, detail: 'ok' })).toBe('✓ java: ok');
    expect(checkLine({ name: 'sudo', ok: false, detail: 'no', fix: 'add it' })).toBe(
      '✗ sudo: no (fix: add it)',
    );
  });
});
