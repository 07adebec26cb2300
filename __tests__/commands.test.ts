import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, javaArgv, launchApp, logTail, stopApp } from '../src/commands/app.js';
import { asRoot } from '../src/commands/functions.js';
import { httpGetOnHost, parseHttpOnHost } from '../src/commands/http.js';
import { detectPorts, parseDetection } from '../src/commands/detect.js';
import { holdLock } from '../src/commands/lock.js';
import { includeContent, nginxArgv, oldWorkers, restoreNginx, switchNginx } from '../src/commands/nginx.js';
import { envFileContent, prepareRelease, verifyUpload } from '../src/commands/release.js';
import { pruneReleases, retireOld } from '../src/commands/stop.js';
import type { RemoteCommand } from '../src/commands/types.js';
import { layout } from '../src/layout.js';

const HOSTILE = `/opt/my app/$(touch /tmp/pwned);\`id\`'"*`;
const paths = layout('/opt/app');
const hostile = layout(HOSTILE);
const spec = { include: '/etc/nginx/conf.d/service-url.inc', reload: 'auto' as const, sudo: 'auto' as const };

function allCommands(): RemoteCommand[] {
  const cmds: RemoteCommand[] = [];
  for (const p of [paths, hostile]) {
    cmds.push(
      holdLock(p, `run 1 by $(id) 'x'`, 300),
      detectPorts(p, `${HOSTILE}.inc`, [8080, 8081]),
      prepareRelease(p, '20261124T000000Z-abc', 'a'.repeat(64), 1000),
      verifyUpload(p, '20261124T000000Z-abc', 'a'.repeat(64)),
      launchApp(p, {
        releaseId: 'r1',
        port: 8081,
        java: '/usr/lib/jvm/java 17/bin/java',
        javaOpts: ['-Xmx64m', `-Dx=$(id) "q" 'q'`],
        appArgs: ['--a=b c', '; rm -rf /', '-'],
      }),
      isAlive(123, '456'),
      logTail(p, 'r1', 40),
      stopApp(p, 8080, 123, '456', 5000),
      retireOld(p, {
        oldWorkers: [1, 2],
        drainTimeoutMs: 1000,
        old: { pid: 3, start: '4', port: 8080 },
        stopTimeoutMs: 2000,
        awaitStop: false,
      }),
      retireOld(p, { oldWorkers: [], drainTimeoutMs: 1000, stopTimeoutMs: 2000, awaitStop: true }),
      pruneReleases(p, 5, 'r1'),
      httpGetOnHost(`http://127.0.0.1:8080/health?x=$(touch /tmp/pwned)'`, 5000),
    );
  }
  for (const sudo of ['auto', 'always', 'never'] as const) {
    for (const reload of ['auto', 'systemctl', 'service', 'signal'] as const) {
      const s = { include: `${HOSTILE}.inc`, config: `${HOSTILE}.conf`, reload, sudo };
      cmds.push(
        switchNginx(s, 8081, 'release $(id)', `${HOSTILE}/run/pending`),
        restoreNginx(s, 8080, 'rollback'),
      );
      cmds.push(switchNginx({ ...s, config: undefined }, 8081, 'r', '/opt/app/run/pending'));
    }
  }
  return cmds;
}

describe('every remote script', () => {
  const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

  test('passes shellcheck as POSIX sh, hostile values included', () => {
    if (!hasShellcheck) throw new Error('shellcheck is not installed: run scripts/install-deps.sh');
    for (const cmd of allCommands()) {
      const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'warning', '-'], {
        input: cmd.script,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`${cmd.title}\n${r.stdout}\n---\n${cmd.script}`);
    }
  });

  test('parses as sh (sh -n)', () => {
    for (const cmd of allCommands()) {
      const r = spawnSync('sh', ['-n'], { input: cmd.script, encoding: 'utf8' });
      expect({ title: cmd.title, err: r.stderr }).toEqual({ title: cmd.title, err: '' });
    }
  });

  test('hostile paths run by a real sh create nothing but what they name', () => {
    const base = mkdtempSync(join(tmpdir(), 'bgd-hostile-'));
    try {
      const canary = join(base, 'pwned');
      const evil = `${base}/my app/$(touch ${canary});\`touch ${canary}\`'"*`;
      const p = layout(evil);
      const scripts = [
        holdLock(p, `$(touch ${canary})`, 5),
        detectPorts(p, `${evil}.inc`, [1, 2]),
        prepareRelease(p, 'r1', 'a'.repeat(64), 10),
        verifyUpload(p, 'r1', 'a'.repeat(64)),
        logTail(p, 'r1', 5),
        stopApp(p, 1, 999999, '1', 100),
        pruneReleases(p, 1, 'r1'),
      ];
      for (const cmd of scripts) spawnSync('sh', ['-c', cmd.script], { input: '', encoding: 'utf8' });
      expect(existsSync(canary)).toBe(false);
      expect(existsSync(`${evil}/releases/r1`)).toBe(true); // the odd path itself arrived intact
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('launch', () => {
  test('java argv, exactly', () => {
    expect(
      javaArgv(paths, {
        releaseId: 'r1',
        port: 8081,
        java: 'java',
        javaOpts: ['-Xmx256m'],
        appArgs: ['--spring.profiles.active=prod'],
      }),
    ).toEqual([
      'java',
      '-Xmx256m',
      '-jar',
      '/opt/app/releases/r1/app.jar',
      '--server.port=8081',
      '--spring.profiles.active=prod',
    ]);
  });

  test('detached launcher line quotes every word', () => {
    const cmd = launchApp(paths, {
      releaseId: 'r1',
      port: 8081,
      java: 'java',
      javaOpts: ['-Dgreeting=hello world'],
      appArgs: ["--who=it's"],
    });
    expect(cmd.script).toContain(
      `  exec setsid sh -c 'echo "$$" > "$1"; shift; exec "$@"' launcher /opt/app/releases/r1/.launch.pid java '-Dgreeting=hello world' -jar /opt/app/releases/r1/app.jar --server.port=8081 '--who=it'\\''s'\n`,
    );
    expect(cmd.script).toContain(') </dev/null >>/opt/app/releases/r1/app.log 2>&1 &\n');
    expect(cmd.script).toContain('printf \'%s %s %s\\n\' "$pid" "$start" 8081 > /opt/app/run/pending\n');
  });

  test('env file: one quoted export per variable', () => {
    expect(
      envFileContent([
        ['A', 'plain'],
        ['B', "it's $(x)"],
        ['C', ''],
      ]),
    ).toBe("export A=plain\nexport B='it'\\''s $(x)'\nexport C=''\n");
  });
});

describe('nginx', () => {
  test('include content', () => {
    expect(includeContent(8081, 'release r1')).toBe(
      '# Written by the blue/green deploy action: release r1\nset $service_url http://127.0.0.1:8081;\n',
    );
  });

  test('nginx argv with and without a main config', () => {
    expect(nginxArgv(spec, '-t')).toEqual(['nginx', '-t']);
    expect(nginxArgv({ ...spec, config: '/etc/nginx/alt.conf' }, '-s', 'reload')).toEqual([
      'nginx',
      '-c',
      '/etc/nginx/alt.conf',
      '-s',
      'reload',
    ]);
  });

  test('sudo modes', () => {
    expect(asRoot('never')).toBe('as_root() { "$@"; }');
    expect(asRoot('always')).toBe('as_root() { sudo -n -- "$@"; }');
    expect(asRoot('auto')).toBe(
      'as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }',
    );
  });

  test('the privileged commands are exactly the README sudoers ones', () => {
    const s = switchNginx(
      { ...spec, config: '/etc/nginx/nginx.conf' },
      8081,
      'r',
      '/opt/app/run/pending',
    ).script;
    expect(s).toContain('as_root tee "$tmp" >/dev/null && as_root mv -f "$tmp" "$inc"');
    expect(s).toContain('as_root rm -f "$inc"');
    expect(s).toContain('as_root rm -f "$tmp"');
    expect(s).toContain('out=$(as_root nginx -c /etc/nginx/nginx.conf -t 2>&1)');
    expect(s).toContain('reload_nginx() { as_root nginx -c /etc/nginx/nginx.conf -s reload; }');
    expect(s).toContain('inc=/etc/nginx/conf.d/service-url.inc\ntmp="$inc.tmp"\n');
    expect(s).toContain('pending=/opt/app/run/pending\nclaim="$pending.switch"\n');
    expect(s).toContain('rm -f -- "$claim"\n');
  });

  test('auto reload tries systemctl, then service, then a signal', () => {
    const s = switchNginx(spec, 8081, 'r', '/p').script;
    expect(s).toContain(
      '[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && as_root systemctl reload nginx',
    );
    expect(s).toContain('[ -x /etc/init.d/nginx ] && as_root service nginx reload');
    expect(s).toContain('  as_root nginx -s reload\n');
  });

  test('old workers are those of the masters that started new ones', () => {
    expect(oldWorkers('10:1 11:1 20:2 ', '30:1 ')).toEqual([10, 11]);
    expect(oldWorkers('10:1 ', '')).toEqual([]);
  });
});

describe('the launch record is claimed by one side only, run by a local sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bgd-claim-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a switch whose launch record the watchdog took changes nothing and says why', () => {
    const inc = join(dir, 'service-url.inc');
    writeFileSync(inc, 'set $service_url http://127.0.0.1:8080;\n');
    const cmd = switchNginx({ ...spec, include: inc, sudo: 'never' }, 8081, 'r', join(dir, 'pending'));
    const r = spawnSync('sh', ['-c', cmd.script], { encoding: 'utf8' });
    expect(r.status).toBe(35);
    expect(r.stderr).toMatch(/being stopped by the lock's watchdog/);
    expect(readFileSync(inc, 'utf8')).toBe('set $service_url http://127.0.0.1:8080;\n');
  });

  test('a failed switch gives the launch record back', () => {
    const pending = join(dir, 'pending');
    writeFileSync(pending, '123 456 8081\n');
    // No nginx worker is found by this script's ps filter under this name: it fails after the claim.
    const cmd = switchNginx({ ...spec, include: join(dir, 'inc'), sudo: 'never' }, 8081, 'r', pending);
    const r = spawnSync('sh', ['-c', cmd.script.replace('$4 == "worker"', '$4 == "no-such-worker"')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(30);
    expect(readFileSync(pending, 'utf8')).toBe('123 456 8081\n');
    expect(existsSync(`${pending}.switch`)).toBe(false);
  });

  test('the watchdog of an ended session claims the record and stops that app', () => {
    const p = layout(join(dir, 'app'));
    const lock = holdLock(p, 'test', 5);
    spawnSync('sh', ['-c', `mkdir -p '${p.runDir}' && echo '999999 1 8081' > '${p.pending}'`]);
    const r = spawnSync('sh', ['-c', lock.script], { input: '', encoding: 'utf8' });
    expect(r.stdout).toContain('locked');
    expect(r.stderr).toContain('watchdog: stopping half-started app 999999 on port 8081');
    expect(existsSync(p.pending)).toBe(false);
    expect(existsSync(`${p.pending}.stop`)).toBe(false);
  });
});

describe('detect, run by a local sh against real files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bgd-detect-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function detect(include: string | undefined) {
    const inc = join(dir, 'service url.inc');
    if (include !== undefined) writeFileSync(inc, include);
    const out = execFileSync('sh', ['-c', detectPorts(layout(join(dir, 'app')), inc, [1, 2]).script], {
      encoding: 'utf8',
    });
    return parseDetection(out, [1, 2]);
  }

  test('reads the port from the include', () => {
    const d = detect('# managed\nset $service_url http://127.0.0.1:8081;\n');
    expect(d.include).toBe('present');
    expect(d.includePort).toBe(8081);
    expect(d.ports.get(1)).toEqual({ port: 1, listening: false });
    expect(d.ports.has(8081)).toBe(true);
  });

  test('tolerates spacing and another host', () => {
    expect(detect('  set   $service_url   http://localhost:9000 ;').includePort).toBe(9000);
  });

  test('missing include', () => {
    const d = detect(undefined);
    expect(d.include).toBe('missing');
    expect(d.includePort).toBeUndefined();
  });

  test('include without a service_url line', () => {
    expect(detect('# nothing\n').includePort).toBeUndefined();
  });
});

describe('HTTP on the host (no TCP forwarding)', () => {
  test('curl line, exactly', () => {
    expect(httpGetOnHost('http://127.0.0.1:8081/actuator/health', 4500).script).toContain(
      "exec curl -sS --max-time 5 -w '\\n%{http_code}' -- http://127.0.0.1:8081/actuator/health\n",
    );
  });
  test('status is the last line', () => {
    expect(parseHttpOnHost('{"status":"UP"}\n200')).toEqual({ status: 200, body: '{"status":"UP"}' });
    expect(parseHttpOnHost('a\nb\n503')).toEqual({ status: 503, body: 'a\nb' });
  });
});

describe('release', () => {
  test('verify moves the part file only on a matching checksum', () => {
    const s = verifyUpload(paths, 'r1', 'ab'.repeat(32)).script;
    expect(s).toContain(
      "got=$(sha256sum -- /opt/app/releases/r1/app.jar.part 2>/dev/null | cut -d ' ' -f 1)\n",
    );
    expect(s).toContain(
      `if [ "$got" != ${'ab'.repeat(32)} ]; then\n  rm -f -- /opt/app/releases/r1/app.jar.part\n`,
    );
    expect(s).toContain(
      'mv -f -- /opt/app/releases/r1/app.jar.part /opt/app/releases/r1/app.jar || exit 1\n',
    );
  });
});
