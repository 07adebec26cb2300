// switchHost for a rollback (a release already on the host, nothing uploaded), and the history records and the
// prune protection of every run, against the fake host.
import { switchHost, type Operation } from '../src/deploy.js';
import { recordLine } from '../src/history.js';
import type { Settings } from '../src/inputs.js';
import { hostContext } from '../src/steps/context.js';
import { StepRunner } from '../src/steps/runner.js';
import { FakeHost, fakeClock, recordingLog, settings, type Answers } from './support/fake-host.js';
import { greenLive } from './support/fleet.js';

const T = '2026-11-01T10:00:00.000Z';
const deployed = (id: string, release: string) => [
  recordLine({ v: 1, event: 'start', id, mode: 'deploy', release, started: T }),
  recordLine({ v: 1, event: 'end', id, ended: T, result: 'deployed', release }),
];
/** r1, then r2 deployed; r2 live on green (8081). */
const HISTORY = [...deployed('a', 'r1'), ...deployed('b', 'r2')].join('\n');
const ON_HOST = {
  text: HISTORY,
  releases: [
    { id: 'r1', complete: true },
    { id: 'r2', complete: true },
  ],
};

function hostRun(op: Operation, answers: Answers = {}, extra: Partial<Settings> = {}, signal?: AbortSignal) {
  const prune: string[] = [];
  const host = new FakeHost({
    detect: greenLive,
    history: () => ON_HOST,
    launch: () => ({ pid: 33, start: '300' }),
    portOwner: () => ({ owner: 'ours', pids: [33] }),
    prune: (cmd) => (prune.push(cmd.script), []),
    ...answers,
  });
  const log = recordingLog();
  const steps = new StepRunner('h', log, () => 0);
  const ctx = hostContext({
    settings: { ...settings, ...extra },
    host,
    steps,
    log,
    lockHolder: 't',
    signal,
    clock: fakeClock(),
  });
  const rows = () => steps.records.map((r) => [r.name, r.status, r.detail]);
  const records = () => host.history.map((h) => h.record);
  return { host, log, rows, records, prune, ctx, run: () => switchHost(ctx, op) };
}

const LOCK = 'lock /opt/app/.deploy.lock';
const RECORD = 'record the run in /opt/app/history.jsonl';
const DETECT = 'detect live port (/etc/nginx/conf.d/service-url.inc)';
const READ = 'read /opt/app/history.jsonl';
const PRUNE = 'keep the newest 5 releases';
const ENDED = '1970-01-01T00:00:00.000Z';

describe('a rollback', () => {
  test('to the previous good release: chosen, verified, launched on the idle port, switched; nothing uploaded', async () => {
    const d = hostRun({ kind: 'rollback' });
    await expect(d.run()).resolves.toEqual({
      activePort: 8080,
      previousPort: 8081,
      releaseId: 'r1',
      previousRelease: 'r2',
    });
    expect(d.host.commands()).toEqual([
      LOCK,
      RECORD,
      DETECT,
      READ,
      'verify /opt/app/releases/r1/app.jar',
      'launch r1 on port 8080',
      'who listens on port 8080',
      'switch nginx to port 8080',
      'wait for 2 old nginx workers',
      'stop pid 22 on port 8081',
      RECORD,
      READ,
      PRUNE,
    ]);
    expect(d.rows()).toEqual([
      ['Lock', 'ok', 'holding /opt/app/.deploy.lock'],
      ['Detect ports', 'ok', 'live 8081, idle 8080'],
      [
        'Choose release',
        'ok',
        `r1 (deployed ${T}); jar sha256 bbbbbbbbbbbb verified on the host, nothing uploaded`,
      ],
      ['Free port 8080', 'skipped', 'nothing of ours held it'],
      ['Launch on 8080', 'ok', 'pid 33, log /opt/app/releases/r1/app.log'],
      [
        'Health check',
        'ok',
        expect.stringMatching(/^http:\/\/127\.0\.0\.1:8080\/actuator\/health healthy after/),
      ],
      ['Switch nginx', 'ok', 'nginx routes to port 8080 (/etc/nginx/conf.d/service-url.inc), reloaded'],
      ['Drain nginx', 'ok', '2 old nginx workers finished their requests in 30 ms'],
      ['Bake', 'skipped', 'bake-time is 0'],
      ['Stop old app', 'ok', 'old pid 22 on port 8081: exited after SIGTERM in 0.04 s'],
    ]);
    expect(d.records()).toEqual([
      { v: 1, event: 'start', id: d.ctx.run.id, mode: 'rollback', started: ENDED },
      {
        v: 1,
        event: 'end',
        id: d.ctx.run.id,
        ended: expect.stringMatching(/^1970-01-01T00:00:0\d\.\d{3}Z$/) as string,
        result: 'rolled-back-to',
        release: 'r1',
        port: 8080,
        previous: { release: 'r2', port: 8081 },
      },
    ]);
    // The prune keeps r1 (live now) and r2 (the one a rollback would choose now).
    expect(d.prune[0]).toContain('inuse=" r1 r2 $(cat');
  });

  test('a named release, for a reason: both in the start record', async () => {
    const d = hostRun({ kind: 'rollback', to: 'r1', reason: 'rollback-on-failure: c failed' });
    await expect(d.run()).resolves.toMatchObject({ releaseId: 'r1', activePort: 8080 });
    expect(d.rows()[2]).toEqual([
      'Choose release',
      'ok',
      'r1 (named by release-id); jar sha256 bbbbbbbbbbbb verified on the host, nothing uploaded',
    ]);
    expect(d.records()[0]).toEqual({
      v: 1,
      event: 'start',
      id: d.ctx.run.id,
      mode: 'rollback',
      release: 'r1',
      reason: 'rollback-on-failure: c failed',
      started: ENDED,
    });
  });

  test('the release still runs on the idle port: reused as it is, nothing launched', async () => {
    const detect = greenLive();
    detect.ports.set(8080, { port: 8080, listening: true, ours: { pid: 9, start: '50', release: 'r1' } });
    const d = hostRun(
      { kind: 'rollback' },
      { detect: () => detect, portOwner: () => ({ owner: 'ours', pids: [9] }) },
    );
    await expect(d.run()).resolves.toMatchObject({ releaseId: 'r1', activePort: 8080 });
    expect(d.host.commands()).toEqual([
      LOCK,
      RECORD,
      DETECT,
      READ,
      'verify /opt/app/releases/r1/app.jar',
      'reuse pid 9 on port 8080',
      'who listens on port 8080',
      'switch nginx to port 8080',
      'wait for 2 old nginx workers',
      'stop pid 22 on port 8081',
      RECORD,
      READ,
      PRUNE,
    ]);
    expect(d.rows().slice(3, 5)).toEqual([
      ['Reuse on 8080', 'ok', 'r1 still runs there (pid 9): used as it is, nothing launched'],
      [
        'Health check',
        'ok',
        expect.stringMatching(/^http:\/\/127\.0\.0\.1:8080\/actuator\/health healthy after/),
      ],
    ]);
  });

  test('a release on the idle port that does not listen is not trusted: stopped, then launched afresh', async () => {
    const detect = greenLive();
    detect.ports.set(8080, { port: 8080, listening: false, ours: { pid: 9, start: '50', release: 'r1' } });
    const d = hostRun({ kind: 'rollback' }, { detect: () => detect });
    await expect(d.run()).resolves.toMatchObject({ releaseId: 'r1', activePort: 8080 });
    expect(d.host.commands().slice(4, 7)).toEqual([
      'verify /opt/app/releases/r1/app.jar',
      'stop pid 9 on port 8080',
      'launch r1 on port 8080',
    ]);
  });

  test('the release named serves already: nothing launched or switched, the run ends rolled back to it', async () => {
    const d = hostRun({ kind: 'rollback', to: 'r2' });
    await expect(d.run()).resolves.toEqual({
      activePort: 8081,
      previousPort: 8081,
      releaseId: 'r2',
      previousRelease: 'r2',
    });
    expect(d.host.commands()).toEqual([
      LOCK,
      RECORD,
      DETECT,
      READ,
      'verify /opt/app/releases/r2/app.jar',
      RECORD,
      READ,
      PRUNE,
    ]);
    expect(d.rows().at(-1)).toEqual(['Switch nginx', 'skipped', 'r2 serves already on port 8081']);
    expect(d.records().at(-1)).toMatchObject({ result: 'rolled-back-to', release: 'r2', port: 8081 });
  });

  test('a reused app that never turns healthy is stopped; the run ends failed', async () => {
    const detect = greenLive();
    detect.ports.set(8080, { port: 8080, listening: true, ours: { pid: 9, start: '50', release: 'r1' } });
    const d = hostRun({ kind: 'rollback' }, { detect: () => detect }, { healthTimeoutMs: 300 });
    d.host.health = () => ({ status: 503, body: 'DOWN' });
    await expect(d.run()).rejects.toThrow(
      'Health check failed: http://127.0.0.1:8080/actuator/health was not healthy within 0.3 s; last answer: HTTP 503 DOWN',
    );
    expect(d.host.commands().slice(-4)).toEqual([
      'reuse pid 9 on port 8080',
      'last 40 lines of /opt/app/releases/r1/app.log',
      'stop pid 9 on port 8080',
      RECORD,
    ]);
    expect(d.log.lines).toContain('info: undo: stop the reused app (pid 9)');
    expect(d.records()[1]).toMatchObject({
      result: 'failed',
      release: 'r1',
      port: 8081,
      step: 'Health check',
    });
  });

  test('nothing to roll back to: Choose release fails, nothing launched, the run ends failed there', async () => {
    const d = hostRun(
      { kind: 'rollback' },
      { history: () => ({ text: '', releases: [{ id: 'r2', complete: true }] }) },
    );
    await expect(d.run()).rejects.toThrow(
      'Choose release failed: the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id (releases on the host: r2)',
    );
    expect(d.host.commands()).toEqual([LOCK, RECORD, DETECT, READ, RECORD]);
    expect(d.records()[1]).toEqual({
      v: 1,
      event: 'end',
      id: d.ctx.run.id,
      ended: ENDED,
      result: 'failed',
      port: 8081,
      previous: { release: 'r2', port: 8081 },
      step: 'Choose release',
      error:
        'Choose release failed: the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id (releases on the host: r2)',
    });
    expect(d.host.lockReleased).toBe(true);
  });
});

describe("a deploy's history", () => {
  const blue = { detect: undefined, history: () => ({ text: deployed('a', 'r1').join('\n'), releases: [] }) };

  test('start: the release-id and the jar sha256; end: deployed, where, and what served before', async () => {
    const d = hostRun({ kind: 'deploy' }, blue);
    await d.run();
    expect(d.records()).toEqual([
      {
        v: 1,
        event: 'start',
        id: d.ctx.run.id,
        mode: 'deploy',
        release: 'r2',
        sha256: 'a'.repeat(64),
        started: ENDED,
      },
      {
        v: 1,
        event: 'end',
        id: d.ctx.run.id,
        ended: expect.stringMatching(/^1970-01-01T00:00:0\d\.\d{3}Z$/) as string,
        result: 'deployed',
        release: 'r2',
        port: 8081,
        previous: { release: 'r1', port: 8080 },
      },
    ]);
    expect(d.host.history.map((h) => h.marker)).toEqual([`open ${d.ctx.run.id}`, 'close']);
  });

  test('the prune keeps the live release and the rollback target, even when older than keep-releases', async () => {
    const history = [...deployed('a', 'r0'), ...deployed('b', 'r1'), ...deployed('c', 'r2')].join('\n');
    const releases = ['r0', 'r1', 'r2'].map((id) => ({ id, complete: true }));
    const d = hostRun(
      { kind: 'deploy' },
      { detect: undefined, history: () => ({ text: history, releases }) },
      { keepReleases: 1 },
    );
    await d.run();
    // r2 is live now; a rollback would choose r1.
    expect(d.prune[0]).toContain('inuse=" r2 r1 $(cat');
    expect(d.prune[0]).toContain('tail -n +2');
  });

  test('without history the prune keeps the live release alone', async () => {
    const d = hostRun({ kind: 'deploy' }, { detect: undefined, history: () => ({ text: '', releases: [] }) });
    await d.run();
    expect(d.prune[0]).toContain('inuse=" r2 $(cat');
  });

  test('a failed deploy ends failed at its step', async () => {
    const d = hostRun({ kind: 'deploy' }, { ...blue, switch: () => new Error('nginx: [emerg] bad') });
    await expect(d.run()).rejects.toThrow('Switch nginx failed: nginx: [emerg] bad');
    expect(d.records()[1]).toEqual({
      v: 1,
      event: 'end',
      id: d.ctx.run.id,
      ended: expect.stringMatching(/^1970-01-01T00:00:0\d\.\d{3}Z$/) as string,
      result: 'failed',
      release: 'r2',
      port: 8080,
      previous: { release: 'r1', port: 8080 },
      step: 'Switch nginx',
      error: 'Switch nginx failed: nginx: [emerg] bad',
    });
  });

  test('a cancelled deploy ends cancelled', async () => {
    const abort = new AbortController();
    const d = hostRun(
      { kind: 'deploy' },
      { ...blue, verifyUpload: () => (abort.abort(), undefined) },
      {},
      abort.signal,
    );
    await expect(d.run()).rejects.toThrow('the deploy was cancelled');
    expect(d.records()[1]).toEqual({
      v: 1,
      event: 'end',
      id: d.ctx.run.id,
      ended: ENDED,
      result: 'cancelled',
      release: 'r2',
      port: 8080,
      previous: { release: 'r1', port: 8080 },
      step: 'Upload',
      error: 'the deploy was cancelled',
    });
  });
});
