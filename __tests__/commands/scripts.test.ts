// Every generated script, for every option and with hostile values: shellcheck (POSIX sh) and sh -n; and the
// hostile-path canary: run for real in the sandbox, a path full of shell syntax creates what it names and
// runs nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { adoptApp, isAlive, launchApp, logTail, portOwner, stopApp } from '../../src/commands/app.js';
import { detectPorts } from '../../src/commands/detect.js';
import { drainWorkers } from '../../src/commands/drain.js';
import { appendHistory, readHistory, verifyRelease } from '../../src/commands/history.js';
import { httpGetOnHost } from '../../src/commands/http.js';
import { holdLock } from '../../src/commands/lock.js';
import {
  EXIT_INCLUDE_CHANGED,
  EXIT_WRITE_FAILED,
  switchNginx,
  type FileChange,
} from '../../src/commands/nginx.js';
import { switchRootCommands } from '../../src/commands/nginx-root.js';
import { preflightProbe } from '../../src/commands/preflight.js';
import { prepareRelease, pruneReleases, verifyUpload } from '../../src/commands/release.js';
import { readStatus } from '../../src/commands/status.js';
import { layout, type Layout } from '../../src/layout.js';
import { sandbox } from '../support/sandbox.js';
import { HOSTILE, hostilePaths, paths, SHA } from './helpers.js';

function scripts(p: Layout, value: string): { title: string; script: string }[] {
  const app = { pid: 4242, start: value };
  const all: { title: string; script: string }[] = [
    holdLock(p, { holder: value, timeoutSeconds: 300, stopTimeoutMs: 5000 }),
    detectPorts(p, { include: `${p.root}/${value}.inc`, upstream: `${p.root}/${value}.conf` }, [8080, 8081]),
    prepareRelease(p, value, SHA, 1000),
    verifyUpload(p, value, SHA),
    launchApp(p, {
      releaseId: value,
      port: 8081,
      java: value,
      javaOpts: [value, '-Xmx64m'],
      portArg: [value],
      appArgs: [value],
    }),
    isAlive(app),
    portOwner(app, 8081),
    logTail(p, value, 40),
    stopApp(p, { app, port: 8080, timeoutMs: 5000, untilClosed: false }),
    stopApp(p, { app, port: 8080, timeoutMs: 5000, untilClosed: true }),
    drainWorkers([1, 2], 1000),
    drainWorkers([], 1000),
    pruneReleases(p, 5, [value]),
    httpGetOnHost(`http://127.0.0.1:8080/health?x=${value}`, 5000),
    appendHistory(p, `{"v":1,"id":"${value}"}`, { open: value }),
    appendHistory(p, `{"v":1,"id":"${value}"}`, { close: true }),
    readHistory(p),
    verifyRelease(p, value),
    adoptApp(p, app, 8081),
    ...(['none', 'systemd', 'systemd-user'] as const).map((supervisor) =>
      readStatus(p, {
        files: { include: `${p.root}/${value}.inc`, upstream: `${p.root}/${value}.conf` },
        ports: [8080, 8081],
        supervisor,
        serviceName: 'app',
      }),
    ),
  ];
  const include: FileChange = {
    path: `${p.root}/${value}.inc`,
    content: `set $service_url http://${value}:8081;\n`,
    expected: `set $service_url http://${value}:8080;\n`,
  };
  const upstream: FileChange = {
    path: `${p.root}/${value}.upstream.conf`,
    content: `upstream ${value} {}\n`,
    expected: undefined,
    mustLoad: true,
  };
  const removal: FileChange = { ...upstream, content: undefined, expected: `upstream ${value} {}\n` };
  for (const sudo of ['auto', 'always', 'never'] as const) {
    const nginx = { config: `${p.root}/${value}.conf`, reload: 'auto' as const, sudo };
    const root = switchRootCommands(nginx, [upstream, include]);
    const probe = { java: value, sudo, nginx, root, mustLoad: [include.path, upstream.path] };
    all.push(preflightProbe(p, probe), preflightProbe(p, { ...probe, jarSha256: SHA }));
  }
  for (const sudo of ['auto', 'always', 'never'] as const) {
    for (const reload of ['auto', 'systemctl', 'service', 'signal'] as const) {
      for (const config of [undefined, `${p.root}/${value}.conf`]) {
        const spec = { config, reload, sudo };
        all.push(
          switchNginx(spec, value, [include], p.pending),
          switchNginx(spec, value, [upstream, include], p.pending),
          switchNginx(spec, value, [removal, include]),
          switchNginx(spec, value, [upstream, { ...include, link: `${p.root}/${value}.link` }], p.pending),
          switchNginx(spec, value, []),
        );
      }
    }
  }
  return all.map(({ title, script }) => ({ title: `${title} [${p.root}]`, script }));
}

// Built inside each test, never at load time (StrykerJS would count every mutant as static).
const all = () => [...scripts(paths, 'plain-value'), ...scripts(hostilePaths, HOSTILE)];

describe('every remote script', () => {
  test('there are many of them', () => {
    expect(all().length).toBe(2 * (22 + 3 * 2 + 3 * 4 * 2 * 5));
  });

  test('passes shellcheck as POSIX sh, hostile values included', () => {
    const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (version.error)
      throw new Error(`shellcheck is not installed: run scripts/install-deps.sh (${version.error.message})`);
    // Scripts that passed before (same text, same shellcheck) are not checked again: under StrykerJS only the
    // mutated script is new, and one shellcheck run of them all takes seconds.
    const cache = join(tmpdir(), 'bgd-shellcheck-passed');
    mkdirSync(cache, { recursive: true });
    const key = (script: string) => createHash('sha256').update(version.stdout).update(script).digest('hex');
    const dir = mkdtempSync(join(tmpdir(), 'bgd-shellcheck-'));
    try {
      const unchecked = all().filter((s) => !existsSync(join(cache, key(s.script))));
      const files = unchecked.map((s, i) => {
        const file = join(dir, `${String(i).padStart(3, '0')}.sh`);
        writeFileSync(file, `# ${s.title.replace(/\n/g, ' ')}\n${s.script}`);
        return file;
      });
      if (files.length === 0) return;
      const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'warning', ...files], { encoding: 'utf8' });
      expect(r.stdout).toBe('');
      expect(r.status).toBe(0);
      for (const s of unchecked) writeFileSync(join(cache, key(s.script)), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('parses as sh (sh -n)', () => {
    for (const s of all()) {
      const r = spawnSync('sh', ['-n'], { input: s.script, encoding: 'utf8' });
      expect({ title: s.title, err: r.stderr, code: r.status }).toEqual({ title: s.title, err: '', code: 0 });
    }
  });
});

describe('hostile paths, run for real in the sandbox', () => {
  test('create nothing but what they name', async () => {
    const box = sandbox();
    try {
      const canary = box.path('pwned');
      const evil = `${box.path('my app')}/$(touch ${canary});\`touch ${canary}\`'"*; touch ${canary}`;
      const p = layout(evil);
      const run = async (script: string) => (await box.run(script)).code;
      expect(
        await run(
          holdLock(p, { holder: `$(touch ${canary})`, timeoutSeconds: 5, stopTimeoutMs: 100 }).script,
        ),
      ).toBe(0);
      expect(
        await run(detectPorts(p, { include: `${evil}.inc`, upstream: `${evil}.conf` }, [1, 2]).script),
      ).toBe(0);
      const files = { include: `${evil}.inc`, upstream: `${evil}.conf` };
      for (const supervisor of ['none', 'systemd-user'] as const) {
        expect(
          await run(readStatus(p, { files, ports: [1, 2], supervisor, serviceName: 'app' }).script),
        ).toBe(0);
      }
      expect(await run(prepareRelease(p, 'r1', SHA, 10).script)).toBe(0);
      box.file(relative(box.root, `${p.jar('r1')}.part`), 'x');
      expect(await run(verifyUpload(p, 'r1', SHA).script)).not.toBe(0);
      expect(await run(logTail(p, 'r1', 5).script)).toBe(0);
      expect(
        await run(
          stopApp(p, { app: { pid: 999999, start: '1' }, port: 1, timeoutMs: 100, untilClosed: true }).script,
        ),
      ).toBe(0);
      expect(await run(pruneReleases(p, 1, ['r1']).script)).toBe(0);
      expect(await run(appendHistory(p, `$(touch ${canary})`, { open: `$(touch ${canary})` }).script)).toBe(
        0,
      );
      expect(await run(readHistory(p).script)).toBe(0);
      // r1 has no app.jar.sha256: refused, with the path in the message
      expect(await run(verifyRelease(p, 'r1').script)).toBe(41);
      expect(
        await run(
          launchApp(p, { releaseId: 'r1', port: 1, java: 'true', javaOpts: [], portArg: [], appArgs: [] })
            .script,
        ),
      ).toBe(0);
      expect(await run(isAlive({ pid: 1, start: `$(touch ${canary})` }).script)).toBe(0);
      expect(await run(portOwner({ pid: 1, start: `$(touch ${canary})` }, 1).script)).toBe(0);
      box.fake('ps', 'echo "  100 1 nginx: worker process"');
      const spec = { config: `${evil}.conf`, reload: 'signal' as const, sudo: 'never' as const };
      const changes: FileChange[] = [
        { path: `${evil}.up`, content: `$(touch ${canary})`, expected: undefined, mustLoad: true },
        { path: `${evil}.inc`, content: `\`touch ${canary}\``, expected: undefined },
        // a file that cannot be written: the failure message names the paths
        { path: `/usr/${evil.slice(box.root.length)}.inc`, content: 'x', expected: undefined },
      ];
      expect(await run(switchNginx(spec, `$(touch ${canary})`, changes, p.pending).script)).toBe(
        EXIT_WRITE_FAILED,
      );
      // a symlinked include whose link is not (any more) a link: refused before any write, nothing run
      const linked = {
        path: `${evil}.inc`,
        content: 'x',
        expected: undefined,
        link: `${evil}$(touch ${canary})`,
      };
      expect(await run(switchNginx(spec, `$(touch ${canary})`, [linked], p.pending).script)).toBe(
        EXIT_INCLUDE_CHANGED,
      );
      expect(box.exists('pwned')).toBe(false);
      // the odd path itself arrived intact, and nothing was created beside it
      expect(box.read(relative(box.root, p.pidFile(1)))).toMatch(/^\d+ \d* r1\n$/);
      expect(readdirSync(box.root).sort()).toEqual(['.bin', 'my app']);
      expect(readdirSync(box.path('my app'))).toEqual([
        evil.slice(box.path('my app').length + 1).split('/')[0],
      ]);
    } finally {
      box.cleanup();
    }
  });
});
