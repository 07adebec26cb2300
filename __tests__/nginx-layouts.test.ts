// The nginx layouts users have (issue 10), each on a real nginx: the set line with a scheme, the set line without
// one used as `proxy_pass http://$service_url;`, the user's own upstream block (zone, keepalive, max_fails) used
// as `proxy_pass http://app_backend;`, and a whole site file in sites-available linked from sites-enabled. Each
// gets two deploys in a row under load, with bake-time 0 and 2, and 0 failed requests; the file afterwards (and
// during the bake window) is byte for byte what it should be, the link still a link. Every layout the action
// does not understand is refused at Detect with the exact message, and nothing changes.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { UNDERSTOOD_FORMS } from '../src/nginx-include.js';
import type { PreflightOutcome } from '../src/preflight.js';
import type { StatusOutcome } from '../src/status.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { blockText, includeText, type NginxLayout } from '../test-target/nginx.js';
import { descendants } from '../test-target/processes.js';
import { runAction, startAction, stopStartedActions, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { errors, expectFailure, expectSuccess } from './support/action.js';
import { expectNoFailedRequests, whileLoaded, type Timeline } from './support/load.js';
import { ensureServing, otherPort, quiet, serving } from './support/serving.js';

jest.setTimeout(120_000);
afterEach(stopStartedActions);

const GROUP_HEAD =
  '# Written by the blue/green deploy action: where the include sends the traffic. Do not edit.\n';
const group = (primary: number, backup?: number) =>
  `${GROUP_HEAD}upstream bluegreen_service_url {\n    server 127.0.0.1:${primary};\n` +
  (backup === undefined ? '' : `    server 127.0.0.1:${backup} backup;\n`) +
  '}\n';

const local = (t: Target, p: string) => t.localPath(p);
const read = (t: Target, p: string) => fs.readFileSync(local(t, p), 'utf8');
const exists = (t: Target, p: string) => fs.existsSync(local(t, p));

/** What the layout's files hold once nginx routes to `port` (`backup`: during a bake window). */
function expectRouting(t: Target, port: number, viaGroup: boolean, backup?: number): void {
  const layout = t.nginxLayout;
  if (layout === 'set' || layout === 'set-no-scheme') {
    const address = layout === 'set' ? 'http://bluegreen_service_url' : 'bluegreen_service_url';
    expect(read(t, t.nginxInclude)).toBe(
      viaGroup ? `set $service_url ${address};\n` : includeText(port, layout),
    );
    if (viaGroup) expect(read(t, t.nginxUpstreamFile)).toBe(group(port, backup));
    else expect(exists(t, t.nginxUpstreamFile)).toBe(false);
    return;
  }
  // The user's block is the group: only its server entries change, no file of ours is written.
  const entry = 'max_fails=3 fail_timeout=10s;\n';
  const text = includeText(port, layout, t.nginxPort);
  expect(read(t, t.nginxIncludeFile)).toBe(
    backup === undefined
      ? text
      : text.replace(entry, `${entry}    server 127.0.0.1:${backup} max_fails=3 fail_timeout=10s backup;\n`),
  );
  expect(fs.statSync(local(t, t.nginxIncludeFile)).mode & 0o777).toBe(0o644);
  expect(exists(t, t.nginxUpstreamFile)).toBe(false);
  if (layout === 'site-symlink') {
    expect(fs.lstatSync(local(t, t.nginxInclude)).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(local(t, t.nginxInclude))).toBe('../sites-available/app.conf');
  }
}

/** Two deploys in a row under 20 clients through nginx; the files checked during each bake window and after. */
async function twoDeploysUnderLoad(t: Target, bake: string): Promise<string[]> {
  const live = await ensureServing(t, `${t.nginxLayout}-base`);
  const viaGroup = bake !== '0' || read(t, t.nginxInclude).includes('bluegreen_');
  const jars = await Promise.all(
    [1, 2].map((n) => buildDemoJar({ version: `${t.nginxLayout}-bake${bake}-${n}` })),
  );
  const timelines: Timeline[] = [];
  const served: (string | undefined)[] = [];
  let port = live.port;
  const { report } = await whileLoaded(
    t,
    async () => {
      for (const [n, jar] of jars.entries()) {
        const old = port;
        port = otherPort(t, old);
        const started = startAction({ inputs: targetInputs(t, { jar, 'bake-time': bake }) });
        timelines.push({ label: `deploy ${n + 1}`, lines: started.lines });
        if (bake !== '0') {
          await started.waitForLine(/^Switch nginx: ok in /);
          expectRouting(t, port, viaGroup, old);
        }
        expectSuccess(await started.done, `deploy ${n + 1}`);
        expectRouting(t, port, viaGroup);
        served.push((await serving(t))?.version);
        await quiet(t);
      }
    },
    { slowMs: 250, warmup: 100 },
  );
  expectNoFailedRequests(report, timelines);
  return served.map(String);
}

const LAYOUTS: [NginxLayout, string][] = [
  ['set', 'set $service_url http://127.0.0.1:PORT; used as proxy_pass $service_url;'],
  ['set-no-scheme', 'set $service_url 127.0.0.1:PORT; used as proxy_pass http://$service_url;'],
  ['upstream-block', 'upstream app_backend { zone; server … max_fails=3 fail_timeout=10s; keepalive 16; }'],
  ['site-symlink', 'sites-enabled/app.conf -> ../sites-available/app.conf (upstream block and server)'],
];

describe.each(LAYOUTS)('%s: %s', (layout) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({ nginxLayout: layout });
  });
  afterAll(async () => {
    await target.stop();
  });

  test.each(['0', '2'])(
    'bake-time %s: two deploys in a row under load, 0 failed, the files as expected',
    async (bake) => {
      expect(await twoDeploysUnderLoad(target, bake)).toEqual(
        [1, 2].map((n) => `${layout}-bake${bake}-${n}`),
      );
    },
  );

  test('status and preflight read the layout (preflight asks sudo for the file a link points to)', async () => {
    const live = await ensureServing(target, `${layout}-base`);
    const status = await runAction({ inputs: targetInputs(target, { mode: 'status' }) });
    expectSuccess(status);
    const [{ status: s }] = JSON.parse(status.outputs.status) as StatusOutcome[];
    expect([s?.nginx.port, s?.nginx.linksTo, s?.nginx.problem]).toEqual([
      live.port,
      layout === 'site-symlink' ? target.nginxIncludeFile : undefined,
      undefined,
    ]);
    const preflight = await runAction({ inputs: targetInputs(target, { mode: 'preflight' }) });
    expectSuccess(preflight);
    const [{ report }] = JSON.parse(preflight.outputs.preflight) as PreflightOutcome[];
    const sudo = report?.checks.find((c) => c.name === 'sudo')?.detail ?? '';
    const note = `(${target.nginxInclude} is a symlink: the rights name the file it points to, ${target.nginxIncludeFile}, which a deploy writes; the link is kept)`;
    expect(sudo.endsWith(note)).toBe(layout === 'site-symlink');
    expect(report?.checks.filter((c) => !c.ok)).toEqual([]);
  });
});

describe('layouts the action does not understand: refused at Detect, nothing changed', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({ nginxLayout: 'upstream-block' });
  });
  afterAll(async () => {
    await target.stop();
  });

  const FORMS = `the forms understood are: ${UNDERSTOOD_FORMS}`;
  /** Everything a refused deploy must leave as it was: the nginx files, releases, the apps and nginx's workers. */
  const snapshot = () => {
    const dir = local(target, path.dirname(target.nginxInclude));
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
    return {
      files: files.map((f) => {
        const stat = fs.lstatSync(path.join(dir, f));
        return [
          f,
          stat.isSymbolicLink()
            ? fs.readlinkSync(path.join(dir, f))
            : stat.isFile()
              ? read(target, path.join(dir, f))
              : 'dir',
        ];
      }),
      releases: fs.readdirSync(local(target, path.join(target.remoteDir, 'releases'))).sort(),
      apps: target.appProcesses().map((p) => p.pid),
      workers: descendants(target.nginxPid).sort(),
    };
  };

  async function refused(bake: string, message: string): Promise<void> {
    const before = snapshot();
    const jar = await buildDemoJar({ version: 'refused' });
    const r = await runAction({ inputs: targetInputs(target, { jar, 'bake-time': bake }) });
    expectFailure(r);
    expect(errors(r)).toEqual([`${target.host}:${target.sshPort}: Detect ports failed: ${message}`]);
    expect(snapshot()).toEqual(before);
  }

  test.each<[string, (live: number, t: Target) => string, string, (live: number, t: Target) => string]>([
    [
      'two upstream blocks',
      (live, t) => `${blockText(live)}upstream other {\n    server 127.0.0.1:${t.greenPort};\n}\n`,
      '0',
      (_live, t) =>
        `${t.nginxInclude}: has 2 upstream blocks (app_backend, other); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server on another host',
      (live) => blockText(live).replace('127.0.0.1', '10.20.30.40'),
      '0',
      (live, t) =>
        `${t.nginxInclude}: upstream app_backend has "server 10.20.30.40:${live} max_fails=3 fail_timeout=10s", which is not on this host (127.0.0.1, localhost or [::1]); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server on another port',
      (live) => blockText(live).replace(`:${live} `, ':9 '),
      '0',
      (_live, t) =>
        `${t.nginxInclude}: upstream app_backend has "server 127.0.0.1:9 max_fails=3 fail_timeout=10s", on port 9: neither blue-port nor green-port (${t.bluePort}, ${t.greenPort}); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server line it cannot read',
      (live) => blockText(live).replace(`127.0.0.1:${live}`, 'unix:/run/app.sock'),
      '0',
      (_live, t) =>
        `${t.nginxInclude}: upstream app_backend has a server entry the action cannot read: "server unix:/run/app.sock max_fails=3 fail_timeout=10s"; ${FORMS}. Nothing was changed`,
    ],
    [
      'a set line and an upstream block',
      (live) => `${blockText(live)}set $service_url http://127.0.0.1:${live};\n`,
      '0',
      (_live, t) =>
        `${t.nginxInclude} has both a set $service_url line and an upstream block, so where it routes is ambiguous; ${FORMS}. Nothing was changed`,
    ],
    [
      'ip_hash with a bake window',
      (live) => blockText(live).replace('    zone', '    ip_hash;\n    zone'),
      '2',
      (_live, t) =>
        `${t.nginxInclude}: upstream app_backend uses ip_hash, with which nginx allows no backup server, but the bake window keeps the old version as the backup: set bake-time: 0 (or drop ip_hash); nothing was changed`,
    ],
  ])('%s', async (_what, text, bake, message) => {
    const live = await ensureServing(target, 'known');
    const file = local(target, target.nginxInclude);
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, text(live.port, target));
    try {
      await refused(bake, message(live.port, target));
    } finally {
      fs.writeFileSync(file, original);
    }
    expect(await serving(target)).toEqual(live);
  });

  test('a dangling symlink as the include', async () => {
    const live = await ensureServing(target, 'known');
    const file = local(target, target.nginxInclude);
    const original = fs.readFileSync(file);
    const gone = path.join(path.dirname(target.nginxInclude), 'gone.conf');
    fs.rmSync(file);
    fs.symlinkSync('gone.conf', file);
    try {
      await refused(
        '0',
        `${target.nginxInclude} is a symlink to ${gone}, which does not exist: point the link at the include file, or set nginx-include to the file itself; nothing was changed`,
      );
    } finally {
      fs.rmSync(file);
      fs.writeFileSync(file, original, { mode: 0o644 });
    }
    expect(await serving(target)).toEqual(live);
  });
});
