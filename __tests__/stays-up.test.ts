// Never leave the site down (issue 8): the old version stays warm as nginx's backup while the new one bakes,
// state is read before it is acted on, and processes are handled as groups. Each test runs under load through
// nginx where traffic moves, counts failed requests (0), and starts from what the target serves.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { listProcesses, processAlive, waitGone } from '../test-target/processes.js';
import {
  runAction,
  startAction,
  stopStartedActions,
  targetInputs,
  type StartedAction,
} from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { errors, expectFailure, expectSuccess, readable } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { ensureServing, otherPort, quiet, serving } from './support/serving.js';

jest.setTimeout(120_000);

const run = promisify(execFile);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

function deploy(inputs: Record<string, string>) {
  return runAction({ inputs: targetInputs(target, inputs) });
}

/** A deploy under 20 clients through nginx (every other request 250 ms long); its result and timed lines. */
async function deployUnderLoad(inputs: Record<string, string>) {
  let started: StartedAction | undefined;
  const { result, report } = await whileLoaded(
    target,
    () => {
      started = startAction({ inputs: targetInputs(target, inputs) });
      return started.done;
    },
    { slowMs: 250, warmup: 100 },
  );
  const lines = started?.lines ?? [];
  expectNoFailedRequests(report, [{ lines }]);
  return { ...result, lines };
}

describe('the bake window', () => {
  test('a build that dies 0.5 s after its first healthy answer: switched back, the old version serves', async () => {
    const live = await ensureServing(target, 'b1');
    const jar = await buildDemoJar({ version: 'b-dies', startDelayMs: 500, dieAfterHealthyMs: 500 });
    const r = await deployUnderLoad({ jar, 'bake-time': '5' });
    expectFailure(r);
    expect(errors(r).join('\n')).toMatch(
      /: Bake failed: (the new app \(pid \d+\) exited|http:\/\/127\.0\.0\.1:\d+\/actuator\/health turned unhealthy) [\d.]+ s into the bake window.*; switched back: port \d+ serves again/,
    );
    expect(await serving(target)).toEqual(live);
    await quiet(target);
    expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
    expect(target.includePort()).toBe(live.port);
  });

  test('a build that turns unhealthy 2 s after the switch: its 503s never reach a user, the old version serves', async () => {
    const live = await ensureServing(target, 'b2');
    const jar = await buildDemoJar({ version: 'b-turns', startDelayMs: 500, badAfterHealthyMs: 2000 });
    const r = await deployUnderLoad({ jar, 'bake-time': '6' });
    expectFailure(r);
    expect(errors(r).join('\n')).toMatch(
      /: Bake failed: http:\/\/127\.0\.0\.1:\d+\/actuator\/health turned unhealthy [\d.]+ s into the bake window \(HTTP 503 \{"status":"DOWN"\}\); switched back/,
    );
    expect(await serving(target)).toEqual(live);
  });

  test('a good build: the old app stays running until the window ends, then is drained and stopped', async () => {
    const live = await ensureServing(target, 'b3');
    const jar = await buildDemoJar({ version: 'b-good', startDelayMs: 500 });
    const r = await deployUnderLoad({ jar, 'bake-time': '3' });
    expectSuccess(r);
    const bakeEnd = r.lines.find((l) => l.text.startsWith('Bake: ok in '));
    const stop = r.lines.find((l) => l.text.startsWith('old pid '));
    expect(bakeEnd && stop && stop.at > bakeEnd.at).toBe(true);
    expect(r.stdout).toMatch(/Bake: ok in [3-9]\.\d\d s/);
    expect(await waitGone(live.pid, 15_000)).toBe(true);
    const now = await serving(target);
    expect(now?.version).toBe('b-good');
    // The include routes to the action's upstream group now, which holds the new app alone.
    expect(target.readInclude()).toMatch(/^set \$service_url http:\/\/bluegreen_service_url;$/m);
    expect(fs.readFileSync(target.nginxUpstreamFile, 'utf8')).toContain(`server 127.0.0.1:${now?.port};\n}`);
  });
});

describe('verified state', () => {
  test("the include keeps the user's own form: only the port changes", async () => {
    const live = await ensureServing(target, 'f1');
    // Back to a hand-written include in another form, as a user may have it.
    const form = (port: number) => `# mine\nset   $service_url "http://127.0.0.1:${port}";   # keep me\n`;
    fs.writeFileSync(target.localPath(target.nginxInclude), form(live.port));
    fs.rmSync(target.localPath(target.nginxUpstreamFile), { force: true });
    await target.reloadNginx();
    const r = await deploy({ jar: await buildDemoJar({ version: 'f2' }) });
    expectSuccess(r);
    expect(target.readInclude()).toBe(form(otherPort(target, live.port)));
    expect(fs.statSync(target.localPath(target.nginxInclude)).mode & 0o777).toBe(0o644);
  });

  test('an include the deploy user cannot read: Detect stops, naming the fix; nothing changes', async () => {
    const live = await ensureServing(target, 'u1');
    const include = target.localPath(target.nginxInclude);
    const before = fs.readFileSync(include, 'utf8');
    fs.chmodSync(include, 0o600); // root's, as a umask of 027 under sudo left it
    try {
      const r = await deploy({ jar: await buildDemoJar({ version: 'u2' }) });
      expectFailure(r);
      expect(errors(r).join('\n')).toContain(
        `Detect ports failed: ${target.nginxInclude} exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${target.nginxInclude}); nothing was changed`,
      );
      expect(fs.readFileSync(include, 'utf8')).toBe(before);
      expect(await serving(target)).toEqual(live);
      expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
    } finally {
      fs.chmodSync(include, 0o644);
    }
  });
});

describe('process groups', () => {
  test('a forking app: its child, which ignores SIGTERM, is stopped with it', async () => {
    await ensureServing(target, 'g0');
    expectSuccess(await deploy({ jar: await buildDemoJar({ version: 'g1', forkChild: true }) }));
    const sleeper = () => listProcesses().filter((p) => p.cmdline === 'sleep 600' && p.ppid > 1);
    const children = sleeper().filter((p) => target.appProcesses().some((a) => a.pid === p.pid));
    expect(children).toHaveLength(1);
    const r = await deployUnderLoad({
      jar: await buildDemoJar({ version: 'g2' }),
      'stop-timeout': '2',
      'await-stop': 'true',
    });
    expectSuccess(r);
    expect(processAlive(children[0].pid)).toBe(false);
    expect(r.stdout).toMatch(
      /old pid \d+ on port \d+: SIGKILLed: still running stop-timeout \(2 s\) after SIGTERM/,
    );
  });

  test('an old app that ignores SIGTERM is reported as SIGKILLed, with the time', async () => {
    await ensureServing(target, 'h0');
    expectSuccess(await deploy({ jar: await buildDemoJar({ version: 'h1', hangOnSigterm: true }) }));
    const r = await deploy({
      jar: await buildDemoJar({ version: 'h2' }),
      'stop-timeout': '2',
      'await-stop': 'true',
    });
    expectSuccess(r);
    expect(r.stdout).toMatch(
      /old pid \d+ on port \d+: SIGKILLed: still running stop-timeout \(2 s\) after SIGTERM/,
    );
    expect(r.stdout).not.toMatch(/old pid \d+ on port \d+: exited/);
    await quiet(target);
  });
});

describe('login shells that print', () => {
  // The deploy user's login shell prints banners (no newline, on stdout and on stderr) before it runs anything,
  // as a chatty .bashrc or motd script does, and is dash-like (sh): every command and the upload must still work.
  // sshd runs an external sftp-server (Debian's default) through the login shell, whose banner corrupts SFTP.
  let chatty: Target;
  beforeAll(async () => {
    chatty = await startTarget({ sftpSubsystem: '/usr/lib/openssh/sftp-server' });
  });
  afterAll(async () => {
    await chatty.stop();
  });

  test('banners on stdout and stderr, without a newline: deploys and uploads still work', async () => {
    const shell = path.join(chatty.dir, 'banner-shell');
    fs.writeFileSync(
      shell,
      "#!/bin/sh\nprintf 'Welcome to the host'\nprintf 'Last login: never' >&2\nexec /bin/sh \"$@\"\n",
      { mode: 0o755 },
    );
    const before = (await run('getent', ['passwd', 'deploy'])).stdout.trim().split(':')[6];
    await run('usermod', ['-s', shell, 'deploy']);
    try {
      for (const version of ['l1', 'l2']) {
        const jar = await buildDemoJar({ version, name: `banner-${version}.jar` });
        const r = await runAction({
          inputs: targetInputs(chatty, {
            jar,
            env: 'A=1',
            'verify-url': `${chatty.nginxUrl}/actuator/health`,
          }),
        });
        if (r.code !== 0) throw new Error(readable(r));
        // SFTP breaks on a printing login shell: the upload and the env file went through a command instead.
        expect(r.stdout).toMatch(
          /::warning::.*SFTP does not start .*files are sent through a command instead/,
        );
        expect((await serving(chatty))?.version).toBe(version);
      }
    } finally {
      await run('usermod', ['-s', before, 'deploy']);
      fs.rmSync(shell, { force: true });
    }
  });
});
