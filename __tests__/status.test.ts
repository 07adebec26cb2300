// hostStatus against the fake host: what each port runs and since when, its unit, its health, where nginx
// routes (read with the deploy's parsers; what cannot be recognised is said, never thrown), the lock, and the
// last deploys; all of it JSON as it is.
import type { Detection } from '../src/commands/detect.js';
import type { StatusRead } from '../src/commands/status.js';
import { IncompleteAnswer } from '../src/remote.js';
import { hostStatus, LAST_DEPLOYS, since, type HostStatus } from '../src/status.js';
import { upstreamText } from '../src/nginx-upstream.js';
import { statusRead } from './support/fake-host.js';
import { INC, rejection, stepContext, UP } from './steps/helpers.js';

const read =
  (over: Partial<StatusRead> = {}, detection: Partial<Detection> = {}) =>
  () => ({
    ...statusRead(),
    ...over,
    detection: { ...statusRead().detection, ...detection },
  });

/** Blue r1 (ours) as nginx's backup, green r2 (ours) primary: a deploy in its bake window. */
const baking = (): Partial<Detection> => ({
  include: { state: 'present', text: 'set $service_url http://bluegreen_service_url;\n' },
  upstream: {
    state: 'present',
    text: upstreamText('bluegreen_service_url', { primary: 8081, backup: 8080 }),
  },
  releases: 2,
  ports: new Map([
    [8080, { port: 8080, listening: true, ours: { pid: 11, start: '100', release: 'r1' } }],
    [8081, { port: 8081, listening: true, ours: { pid: 22, start: '360050', release: 'r2' } }],
  ]),
});

describe('hostStatus', () => {
  test('blue live: r1 since its start, healthy, routed; green idle; the lock free; no history yet', async () => {
    const { ctx, host, rows } = stepContext();
    const s = await hostStatus(ctx);
    expect(s).toEqual<HostStatus>({
      ports: [
        {
          port: 8080,
          color: 'blue',
          listening: true,
          app: { pid: 11, since: '2024-01-01T00:00:01Z', release: 'r1' },
          health: {
            url: 'http://127.0.0.1:8080/actuator/health',
            state: 'healthy',
            answer: 'HTTP 200 {"status":"UP"}',
          },
          routed: 'primary',
        },
        { port: 8081, color: 'green', listening: false },
      ],
      nginx: { include: INC, upstream: UP, port: 8080, via: 'include', release: 'r1', listening: true },
      lock: { held: false },
      releases: 1,
      deploys: [],
      notes: [],
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(host.ran).toEqual(['read the status of /opt/app', 'GET http://127.0.0.1:8080/actuator/health']);
    expect(rows()).toEqual([
      ['Read status', 'ok', '1 releases, lock free'],
      ['Health', 'ok', '8080: healthy, 8081: nothing listens'],
    ]);
  });

  test('the settings reach the script: ports, files, supervisor, service name, remote-dir', async () => {
    let script = '';
    const { ctx } = stepContext(
      { status: (cmd) => ((script = cmd.script), statusRead()) },
      {
        bluePort: 9001,
        greenPort: 9002,
        nginxUpstreamFile: '/etc/nginx/up.conf',
        supervisor: 'systemd-user',
        serviceName: 'shop',
        remoteDir: '/srv/x',
      },
    );
    await hostStatus(ctx);
    expect(script).toContain('\nup=/etc/nginx/up.conf\n');
    expect(script).toContain(`\ninc=${INC}\n`);
    expect(script).toContain('\nset -- 9001 9002 $(named_ports "$inc" "$up")\n');
    expect(script).toContain('\nlock_state /srv/x/.deploy.lock /srv/x/.deploy.lock.info\n');
    expect(script).toContain('\nunit_state 9001 shop@9001.service\nunit_state 9002 shop@9002.service\n');
    expect(script).toContain('sshow() { systemctl --user "$@"; }');
  });

  test('a bake window: green primary, blue backup through the upstream group; each port probed on its own', async () => {
    const { ctx, host } = stepContext({ status: read({}, baking()) });
    host.health = (url) =>
      url.includes('8080')
        ? { status: 503, body: '{"status":"DOWN",\n "details": {}}' }
        : { status: 200, body: 'UP' };
    const s = await hostStatus(ctx);
    expect(s.nginx).toEqual({
      include: INC,
      upstream: UP,
      port: 8081,
      backup: 8080,
      via: 'upstream',
      release: 'r2',
      listening: true,
    });
    expect(s.ports.map((p) => [p.routed, p.app, p.health])).toEqual([
      [
        'backup',
        { pid: 11, since: '2024-01-01T00:00:01Z', release: 'r1' },
        {
          url: 'http://127.0.0.1:8080/actuator/health',
          state: 'unhealthy',
          answer: 'HTTP 503 {"status":"DOWN", "details": {}}',
        },
      ],
      [
        'primary',
        { pid: 22, since: '2024-01-01T01:00:00Z', release: 'r2' },
        { url: 'http://127.0.0.1:8081/actuator/health', state: 'healthy', answer: 'HTTP 200 UP' },
      ],
    ]);
  });

  test('health: no answer, an incomplete one, a long body cut; the probe timeout and health-expect are the inputs', async () => {
    const { ctx, host } = stepContext(
      { status: read({}, baking()) },
      { healthExpect: 'GREEN', healthPath: '/h', healthProbeTimeoutMs: 1234 },
    );
    const timeouts: (number | undefined)[] = [];
    host.httpGet = async (url: string, ms?: number) => {
      timeouts.push(ms);
      if (url.includes('8080')) throw new Error('connect ECONNREFUSED 127.0.0.1:8080\nmore');
      throw new IncompleteAnswer('HTTP 200, but its body did not end within 5 s');
    };
    const s = await hostStatus(ctx);
    expect(timeouts).toEqual([1234, 1234]);
    expect(s.ports.map((p) => p.health)).toEqual([
      { url: 'http://127.0.0.1:8080/h', state: 'no answer', answer: 'connect ECONNREFUSED 127.0.0.1:8080' },
      {
        url: 'http://127.0.0.1:8081/h',
        state: 'no answer',
        answer: 'HTTP 200, but its body did not end within 5 s',
      },
    ]);
    host.httpGet = async () => ({ status: 200, body: `UP ${'x'.repeat(300)}` });
    const cut = await hostStatus(ctx);
    expect(cut.ports[0].health).toEqual({
      url: 'http://127.0.0.1:8080/h',
      state: 'unhealthy',
      answer: `HTTP 200 UP ${'x'.repeat(117)}`,
    });
  });

  test('a stranger on a port, visible or not; ours that no longer listens', async () => {
    const ports = new Map([
      [
        8080,
        {
          port: 8080,
          listening: true,
          listener: { pid: 5, start: '200', command: 'python3 -m http.server 8080' },
        },
      ],
      [8081, { port: 8081, listening: true }],
    ]);
    const { ctx } = stepContext({ status: read({}, { ports }) });
    const s = await hostStatus(ctx);
    expect(s.ports.map((p) => [p.app, p.foreign])).toEqual([
      [undefined, { pid: 5, since: '2024-01-01T00:00:02Z', command: 'python3 -m http.server 8080' }],
      [undefined, {}],
    ]);
    const gone = new Map([
      [8080, { port: 8080, listening: false, ours: { pid: 11, start: '100', release: 'r1' } }],
    ]);
    const { ctx: c2, host } = stepContext({ status: read({}, { ports: gone }) });
    const s2 = await hostStatus(c2);
    expect(s2.ports[0]).toEqual({
      port: 8080,
      color: 'blue',
      listening: false,
      app: { pid: 11, since: '2024-01-01T00:00:01Z', release: 'r1' },
      routed: 'primary',
    });
    expect(s2.nginx.listening).toBe(false);
    expect(host.ran).toEqual(['read the status of /opt/app']);
  });

  test('units: system scope with systemd, user scope with systemd-user; no unit file; what systemctl said', async () => {
    const units = new Map([
      [
        8080,
        {
          unit: 'app@8080.service',
          loadState: 'loaded',
          activeState: 'active',
          unitFileState: 'enabled',
          mainPid: 11,
        },
      ],
      [
        8081,
        {
          unit: 'app@8081.service',
          loadState: 'not-found',
          activeState: 'inactive',
          unitFileState: '',
          mainPid: 0,
        },
      ],
    ]);
    const { ctx } = stepContext({ status: read({ units }) }, { supervisor: 'systemd' });
    expect((await hostStatus(ctx)).ports.map((p) => p.unit)).toEqual([
      { name: 'app@8080.service', scope: 'system', active: 'active', enabled: 'enabled', mainPid: 11 },
      { name: 'app@8081.service', scope: 'system', active: 'inactive', enabled: 'no unit file' },
    ]);
    const failed = new Map([
      [8080, { unit: 'app@8080.service', error: 'Failed to connect to bus' }],
      [
        8081,
        {
          unit: 'app@8081.service',
          loadState: 'loaded',
          activeState: 'failed',
          unitFileState: '',
          mainPid: 0,
        },
      ],
    ]);
    const { ctx: user } = stepContext({ status: read({ units: failed }) }, { supervisor: 'systemd-user' });
    expect((await hostStatus(user)).ports.map((p) => p.unit)).toEqual([
      { name: 'app@8080.service', scope: 'user', error: 'Failed to connect to bus' },
      { name: 'app@8081.service', scope: 'user', active: 'failed', enabled: 'unknown' },
    ]);
  });

  test('the lock: held with its holder, held before the holder wrote itself, not comparable', async () => {
    const lock = async (l: StatusRead['lock']) =>
      (await hostStatus(stepContext({ status: read({ lock: l }) }).ctx)).lock;
    expect(await lock({ state: 'held', holder: 'run 9 by alice' })).toEqual({
      held: true,
      holder: 'run 9 by alice',
    });
    expect(await lock({ state: 'held', holder: '' })).toEqual({ held: true });
    expect(await lock({ state: 'none' })).toEqual({ held: false });
    expect(await lock({ state: 'unknown', why: 'no /proc/locks' })).toEqual({
      held: false,
      problem: 'no /proc/locks',
    });
  });

  test('a failed read fails the step (the host is then reported with its error)', async () => {
    const { ctx, rows } = stepContext({
      status: () => new Error('read the status of /opt/app failed with exit code 1'),
    });
    expect((await rejection(hostStatus(ctx))).message).toBe(
      'Read status failed: read the status of /opt/app failed with exit code 1',
    );
    expect(rows()).toEqual([
      ['Read status', 'failed', 'read the status of /opt/app failed with exit code 1'],
    ]);
  });

  test('since: start ticks after boot as UTC, whole seconds', () => {
    expect(since({ bootTime: 1704067200, ticksPerSecond: 100 }, '0')).toBe('2024-01-01T00:00:00Z');
    expect(since({ bootTime: 1704067200, ticksPerSecond: 100 }, '6199')).toBe('2024-01-01T00:01:01Z');
    expect(since({ bootTime: 1704067200, ticksPerSecond: 250 }, '250')).toBe('2024-01-01T00:00:01Z');
  });
});

describe('the last deploys', () => {
  const line = (r: object) => JSON.stringify({ v: 1, ...r });
  const start = (id: string, more: object = {}) =>
    line({ event: 'start', id, mode: 'deploy', started: `${id}-start`, ...more });
  const end = (id: string, result: string, more: object = {}) =>
    line({ event: 'end', id, ended: `${id}-end`, result, ...more });
  const history = (lines: string[]) => read({ history: { text: lines.join('\n') + '\n', releases: [] } });

  test('newest first, each result in words; commit short, url, actor; absent fields left out', async () => {
    const lines = [
      start('a', {
        release: 'r1',
        actor: 'alice',
        commit: '0123456789abcdef',
        url: 'https://x/runs/1',
        run: '1',
      }),
      end('a', 'deployed', { release: 'r1', port: 8080 }),
      start('b', { release: 'r2' }),
      end('b', 'failed', { release: 'r2', port: 8081, step: 'Health check', error: 'not healthy' }),
      start('c', { mode: 'rollback' }),
      end('c', 'rolled-back-to', { release: 'r1', port: 8080, previous: { release: 'r3' } }),
      start('d'),
      end('d', 'cancelled', { error: 'the deploy was cancelled' }),
      start('e'),
      end('e', 'interrupted'),
      start('f'),
      end('f', 'failed'),
      'not json',
      start('g', { release: 'r9' }),
    ];
    const { ctx } = stepContext({ status: history(lines) });
    const s = await hostStatus(ctx);
    expect(s.deploys).toEqual([
      {
        id: 'g',
        mode: 'deploy',
        release: 'r9',
        result: 'running',
        outcome: 'no end recorded',
        started: 'g-start',
      },
      { id: 'f', mode: 'deploy', result: 'failed', outcome: 'failed', started: 'f-start', ended: 'f-end' },
      {
        id: 'e',
        mode: 'deploy',
        result: 'interrupted',
        outcome: 'interrupted',
        started: 'e-start',
        ended: 'e-end',
      },
      {
        id: 'd',
        mode: 'deploy',
        result: 'cancelled',
        outcome: 'cancelled',
        started: 'd-start',
        ended: 'd-end',
        error: 'the deploy was cancelled',
      },
      {
        id: 'c',
        mode: 'rollback',
        release: 'r1',
        port: 8080,
        result: 'rolled-back-to',
        outcome: 'rolled back to r1',
        started: 'c-start',
        ended: 'c-end',
      },
      {
        id: 'b',
        mode: 'deploy',
        release: 'r2',
        port: 8081,
        result: 'failed',
        outcome: 'failed at Health check',
        started: 'b-start',
        ended: 'b-end',
        error: 'not healthy',
      },
      {
        id: 'a',
        mode: 'deploy',
        release: 'r1',
        port: 8080,
        result: 'deployed',
        outcome: 'deployed',
        actor: 'alice',
        commit: '0123456',
        url: 'https://x/runs/1',
        started: 'a-start',
        ended: 'a-end',
      },
    ]);
    expect(Object.keys(s.deploys[6])).toEqual([
      'id',
      'mode',
      'release',
      'port',
      'result',
      'outcome',
      'actor',
      'commit',
      'url',
      'started',
      'ended',
    ]);
  });

  test('the newest run is running while the lock is held; an older open one never is', async () => {
    const lines = [start('a'), start('b')];
    const held = read({
      history: { text: lines.join('\n'), releases: [] },
      lock: { state: 'held', holder: 'run b' },
    });
    const s = await hostStatus(stepContext({ status: held }).ctx);
    expect(s.deploys.map((d) => [d.id, d.outcome])).toEqual([
      ['b', 'running'],
      ['a', 'no end recorded'],
    ]);
  });

  test(`at most ${LAST_DEPLOYS}, the newest`, async () => {
    const ids = Array.from({ length: 13 }, (_, i) => `run${String(i).padStart(2, '0')}`);
    const lines = ids.flatMap((id) => [start(id), end(id, 'deployed')]);
    const s = await hostStatus(stepContext({ status: history(lines) }).ctx);
    expect(s.deploys.map((d) => d.id)).toEqual(ids.slice(3).reverse());
  });

  test('an unreadable history: a note, no deploys', async () => {
    const s = await hostStatus(
      stepContext({
        status: read({
          history: { error: '/opt/app/history.jsonl exists but the deploy user cannot read it' },
        }),
      }).ctx,
    );
    expect(s.deploys).toEqual([]);
    expect(s.notes).toEqual(['/opt/app/history.jsonl exists but the deploy user cannot read it']);
  });
});
