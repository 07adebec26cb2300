// mode: preflight, the bundled action against real targets: it passes on a fresh target and after a deploy,
// it changes nothing (every file under remote-dir and nginx's dir, with its bytes, mode and mtime, and the
// target's processes are the same after it), and it fails naming the fix for a missing sudo right, an include
// nginx does not load, a disk too small for the jar, a foreign listener on the idle port, and (on a host that
// boots) a systemd-user supervisor without lingering.
import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PreflightOutcome } from '../src/preflight.js';
import { APP_DIR, bootHost, NGINX_INCLUDE } from '../test-target/booted/index.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { execOk, which } from '../test-target/exec.js';
import { descendants } from '../test-target/processes.js';
import { runAction, stopStartedActions, targetInputs, type ActionResult } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { deployAccount, installSudoers } from '../test-target/users.js';
import { errors, expectFailure, expectSuccess, readable } from './support/action.js';

jest.setTimeout(120_000);

let target: Target;
let jar: string;
beforeAll(async () => {
  [target, jar] = await Promise.all([startTarget(), buildDemoJar({ version: 'pf1' })]);
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

const preflight = (extra: Record<string, string> = {}) =>
  runAction({ inputs: targetInputs(target, { mode: 'preflight', jar, ...extra }) });

/** The one host's report, from the `preflight` output. */
function report(r: ActionResult): NonNullable<PreflightOutcome['report']> {
  const [host] = JSON.parse(r.outputs.preflight || '[]') as (PreflightOutcome | undefined)[];
  if (!host?.report) throw new Error(`no report in the preflight output:\n${readable(r)}`);
  return host.report;
}
const failedRows = (r: ActionResult) => report(r).checks.filter((c) => !c.ok);

/** Every path under dir: type, mode, mtime, and the content's sha256 for files. */
function files(dir: string): string[] {
  return fs.readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    const id = `${p} ${st.mode.toString(8)} ${st.mtimeMs}`;
    if (st.isDirectory()) return [id, ...files(p)];
    if (!st.isFile()) return [id];
    return [`${id} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`];
  });
}

/** What preflight must leave as it was: the files of remote-dir and of nginx, the target's processes. */
function snapshot() {
  return {
    files: [...files(target.localPath(target.remoteDir)), ...files(target.nginxDir)],
    apps: target.appProcesses().map((p) => p.pid),
    nginx: descendants(target.nginxPid),
  };
}

async function expectUnchanged(run: () => Promise<ActionResult>): Promise<ActionResult> {
  const before = snapshot();
  const r = await run();
  expect(snapshot()).toEqual(before);
  return r;
}

describe('a healthy target', () => {
  test('fresh (nothing deployed yet): passes, changes nothing, says what a first deploy would do', async () => {
    const r = await expectUnchanged(() => preflight());
    expectSuccess(r);
    const { checks, plan } = report(r);
    expect(checks.map((c) => c.name)).toEqual([
      'host key',
      'remote-dir',
      'free space',
      'java',
      'tools',
      'ports',
      'sudo',
      'nginx -t',
      `nginx loads ${target.nginxInclude}`,
      'nginx running',
      'lock',
    ]);
    // The include already routes to the idle port: a first deploy writes nothing, it tests and reloads.
    expect(checks.find((c) => c.name === 'sudo')?.detail).toBe(
      'deploy may run the 2 commands a deploy runs as root (sudo -n -l)',
    );
    expect(plan).toContain(
      `Launch on ${target.bluePort}: java -jar ${target.remoteDir}/releases/RELEASE/app.jar --server.port=${target.bluePort}`,
    );
    expect(r.summary).toContain(`### ✅ ${target.host}:${target.sshPort}: ready to deploy`);
    expect(r.stdout).toMatch(/^✓ java: \/\S+: (openjdk|java) version/m);
  });

  test('after a deploy: passes; the same jar would be re-used; changes nothing, also with a bake window', async () => {
    expectSuccess(await runAction({ inputs: targetInputs(target, { jar }) }));
    const r = await expectUnchanged(() => preflight());
    expectSuccess(r);
    const { plan } = report(r);
    expect(plan[1]).toBe(`Detect ports: live ${target.bluePort}, idle ${target.greenPort}`);
    expect(plan[2]).toMatch(
      /^Upload: the host has this jar \(sha256 [0-9a-f]{12}\) in .*\/releases\/.*: a hard link, nothing sent$/,
    );
    const baked = await expectUnchanged(() => preflight({ 'bake-time': '5' }));
    expectSuccess(baked);
    expect(report(baked).checks.find((c) => c.name === `nginx loads ${target.nginxUpstreamFile}`)).toEqual({
      name: `nginx loads ${target.nginxUpstreamFile}`,
      ok: true,
      detail: 'not written yet; an include pattern of nginx matches it',
    });
  });
});

describe('fails naming the fix', () => {
  test('a missing sudo right (nginx -s reload)', async () => {
    const narrower = target.sudoersLine.replace(/, [^,]* -s reload/, '');
    expect(narrower).not.toBe(target.sudoersLine);
    await installSudoers(target.dir, narrower, target.nginxConfig);
    try {
      const r = await expectUnchanged(() => preflight());
      expectFailure(r);
      const reload = `nginx -c ${target.nginxConfig} -s reload`;
      const [nginx, tee, chmod, mv, rm] = await Promise.all(['nginx', 'tee', 'chmod', 'mv', 'rm'].map(which));
      const inc = target.nginxInclude;
      expect(failedRows(r)).toEqual([
        {
          name: 'sudo',
          ok: false,
          detail: `deploy may not run with sudo: ${reload}`,
          fix:
            'add to its sudoers file (visudo -f /etc/sudoers.d/deploy): deploy ALL=(root) NOPASSWD: ' +
            [
              `${nginx} -c ${target.nginxConfig} -t`,
              `${tee} ${inc}.tmp`,
              `${chmod} 644 ${inc}.tmp`,
              `${mv} -f ${inc}.tmp ${inc}`,
              `${rm} -f ${inc}.tmp`,
              `${nginx} ${reload.slice('nginx '.length)}`,
            ].join(', '),
        },
      ]);
      expect(errors(r).join('\n')).toContain(`sudo: deploy may not run with sudo: ${reload}`);
    } finally {
      await installSudoers(target.dir, target.sudoersLine, target.nginxConfig);
    }
  });

  test('an include nginx does not load', async () => {
    const config = target.localPath(target.nginxConfig);
    const saved = fs.readFileSync(config, 'utf8');
    const stat = fs.statSync(config);
    fs.writeFileSync(config, saved.replace(`include ${target.nginxInclude};`, ''));
    try {
      const r = await preflight();
      expectFailure(r);
      expect(failedRows(r)).toEqual([
        {
          name: `nginx loads ${target.nginxInclude}`,
          ok: false,
          detail: `nginx -T does not show ${target.nginxInclude}: a deploy would change a file nginx does not read`,
          fix: `add "include ${target.nginxInclude};" inside the server { } that proxies to $service_url, or set nginx-include`,
        },
      ]);
    } finally {
      fs.writeFileSync(config, saved);
      fs.utimesSync(config, stat.atime, stat.mtime);
    }
  });

  test('a disk too small for the jar', async () => {
    const small = fs.mkdtempSync(path.join(target.dir, 'small-'));
    const { uid, gid } = deployAccount();
    await execOk('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=1m,mode=755,uid=${uid},gid=${gid}`,
      'bgd-pf-tmpfs',
      small,
    ]);
    try {
      const r = await preflight({ 'remote-dir': small });
      expectFailure(r);
      const [row] = failedRows(r);
      expect(row.name).toBe('free space');
      expect(row.detail).toMatch(
        new RegExp(`^1024 KiB free in ${small}, \\d+ KiB needed for the jar \\(\\d+ bytes\\)$`),
      );
      expect(row.fix).toMatch(
        new RegExp(`^free at least \\d+ KiB in ${small}, or set remote-dir to a larger file system$`),
      );
      expect(failedRows(r)).toHaveLength(1);
      expect(fs.readdirSync(small)).toEqual([]);
    } finally {
      await execOk('umount', [small]);
      fs.rmdirSync(small);
    }
  });

  test("a foreign listener on the idle port: the deploy's own refusal", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(target.greenPort, '127.0.0.1', resolve));
    try {
      const r = await preflight();
      expectFailure(r);
      expect(failedRows(r)).toEqual([
        {
          name: 'ports',
          ok: false,
          detail: 'a deploy would refuse this host',
          // The test's own listener runs as root: the deploy user sees that something listens, not what.
          fix: `idle port ${target.greenPort} is held by a process the deploy user cannot see (owned by another user), which this action did not start; refusing to touch it. Stop it, or choose other blue-port/green-port values.`,
        },
      ]);
      expect(report(r).plan).toEqual([`Detect ports: a deploy would stop here: ${failedRows(r)[0].fix}`]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

test("a booted host, supervisor systemd-user without lingering: the deploy's own check names the fix", async () => {
  const host = await bootHost({
    name: 'pf-nolinger',
    linger: false,
    // The switch also runs chmod 644 on the include's temp file; the booted host's line lacks it.
    sudoers: [`deploy ALL=(root) NOPASSWD: /usr/bin/chmod 644 ${NGINX_INCLUDE}.tmp`],
  });
  try {
    const inputs = targetInputs(
      {
        host: host.address,
        sshPort: 22,
        username: 'deploy',
        privateKey: host.privateKey,
        knownHosts: host.knownHosts,
        remoteDir: APP_DIR,
        bluePort: 8080,
        greenPort: 8081,
        nginxInclude: NGINX_INCLUDE,
        nginxConfig: '',
      },
      { mode: 'preflight', jar, supervisor: 'systemd-user' },
    );
    const r = await runAction({ inputs });
    expectFailure(r);
    expect(failedRows(r)).toEqual([
      {
        name: 'supervisor',
        ok: false,
        detail: 'a deploy would stop at Check supervisor',
        fix: 'systemd-user needs lingering for deploy (else the app stops with the last session and does not start at boot): run once as root: loginctl enable-linger deploy',
      },
    ]);
    expect((await host.exec(['test', '-e', APP_DIR + '/.deploy.lock'])).code).not.toBe(0);
  } finally {
    await host.stop();
  }
});
