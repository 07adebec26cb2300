// rollback-on-failure: when a batch fails, the hosts this run already switched go back to the release they had.
import { recordLine } from '../src/history.js';
import { rollout, type Connector } from '../src/rollout.js';
import { FakeHost, recordingLog, settings } from './support/fake-host.js';
import { greenLive, rollFleet, targets } from './support/fleet.js';

const FAILED =
  'Health check failed: http://127.0.0.1:8081/actuator/health was not healthy within 0.2 s; last answer: HTTP 503 DOWN';
const REASON = 'rollback-on-failure: c failed';

const switched = { ok: true, releaseId: 'r2', activePort: 8081, previousPort: 8080, previousRelease: 'r1' };
const failedC = {
  host: 'c',
  ok: false,
  releaseId: 'r2',
  activePort: 8080,
  previousPort: 8080,
  previousRelease: 'r1',
  error: FAILED,
};

test('three hosts one at a time, the third fails: the first two go back to their previous release', async () => {
  const f = await rollFleet({ targets: targets('a', 'b', 'c'), batchSize: 1 }, { broken: ['c'] });
  expect(f.connections.map((c) => c.target)).toEqual(['a', 'b', 'c', 'a', 'b']);
  expect(f.outcomes).toEqual([
    { host: 'a', ...switched, rolledBack: { ok: true, releaseId: 'r1', activePort: 8080 } },
    { host: 'b', ...switched, rolledBack: { ok: true, releaseId: 'r1', activePort: 8080 } },
    failedC,
  ]);
  expect(f.log.lines).toContain(`info: ${REASON}; rolling back a, b`);
  for (const name of ['a', 'b']) {
    const back = f.of(name)[1];
    // a rollback to the named previous release, for the reason: nothing uploaded
    expect(back.history[0].record).toMatchObject({
      event: 'start',
      mode: 'rollback',
      release: 'r1',
      reason: REASON,
    });
    expect(back.history[1].record).toMatchObject({
      event: 'end',
      result: 'rolled-back-to',
      release: 'r1',
      port: 8080,
    });
    expect(back.commands()).toEqual([
      'lock /opt/app/.deploy.lock',
      'record the run in /opt/app/history.jsonl',
      'detect live port (/etc/nginx/conf.d/service-url.inc)',
      'read /opt/app/history.jsonl',
      'verify /opt/app/releases/r1/app.jar',
      'launch r1 on port 8080',
      'who listens on port 8080',
      'switch nginx to port 8080',
      'wait for 2 old nginx workers',
      'stop pid 22 on port 8081',
      'record the run in /opt/app/history.jsonl',
      'read /opt/app/history.jsonl',
      'keep the newest 5 releases',
    ]);
  }
  // The steps of the rollbacks follow the deploy's, under their hosts.
  expect(f.result.steps.filter((s) => s.name === 'Choose release').map((s) => [s.host, s.status])).toEqual([
    ['a', 'ok'],
    ['b', 'ok'],
  ]);
});

test('rollback-on-failure false: nothing is rolled back', async () => {
  const f = await rollFleet(
    { targets: targets('a', 'b', 'c'), batchSize: 1, rollbackOnFailure: false },
    { broken: ['c'] },
  );
  expect(f.connections.map((c) => c.target)).toEqual(['a', 'b', 'c']);
  expect(f.outcomes).toEqual([{ host: 'a', ...switched }, { host: 'b', ...switched }, failedC]);
  expect(f.log.lines.filter((l) => l.includes('rollback-on-failure'))).toEqual([]);
});

test('a host without an earlier release of ours stays on the new one, and says so', async () => {
  const f = await rollFleet(
    { targets: targets('a', 'b', 'c'), batchSize: 1 },
    { broken: ['c'], firstDeploy: ['a'] },
  );
  expect(f.connections.map((c) => c.target)).toEqual(['a', 'b', 'c', 'b']);
  expect(f.outcomes[0]).toEqual({
    host: 'a',
    ok: true,
    releaseId: 'r2',
    activePort: 8080,
    previousPort: undefined,
    previousRelease: undefined,
    rolledBack: { ok: false, error: 'no earlier release of ours on this host: it stays on the new one' },
  });
  expect(f.outcomes[1].rolledBack).toEqual({ ok: true, releaseId: 'r1', activePort: 8080 });
});

test('a rollback that fails is reported on its host; the others still go back', async () => {
  const f = await rollFleet(
    { targets: targets('a', 'b', 'c'), batchSize: 2 },
    { broken: ['c'], brokenLater: ['a'] },
  );
  expect(f.connections.map((c) => c.target)).toEqual(['a', 'b', 'c', 'a', 'b']);
  expect(f.outcomes[0].rolledBack).toEqual({
    ok: false,
    releaseId: 'r1',
    activePort: 8081,
    error:
      'Health check failed: http://127.0.0.1:8080/actuator/health was not healthy within 0.2 s; last answer: HTTP 503 DOWN',
  });
  expect(f.outcomes[1].rolledBack).toEqual({ ok: true, releaseId: 'r1', activePort: 8080 });
  expect(f.log.lines).toContain(`info: ${REASON}; rolling back a, b`);
});

test('every host fails or is not attempted: nothing to roll back, and nothing said of it', async () => {
  const f = await rollFleet({ targets: targets('c', 'd'), batchSize: 1 }, { broken: ['c'] });
  expect(f.connections.map((c) => c.target)).toEqual(['c']);
  expect(f.outcomes).toEqual([failedC, { host: 'd', ok: false, error: 'not attempted' }]);
  expect(f.log.lines.filter((l) => l.includes('rolling back'))).toEqual([]);
});

test('mode rollback: a failed host does not roll back the hosts that rolled back', async () => {
  const connected: string[] = [];
  const history = [
    recordLine({ v: 1, event: 'start', id: '1', mode: 'deploy', release: 'r1', started: 't' }),
    recordLine({ v: 1, event: 'end', id: '1', ended: 't', result: 'deployed', release: 'r1' }),
  ].join('\n');
  const connect: Connector = async (target) => {
    connected.push(target.host);
    const host = new FakeHost({
      detect: greenLive,
      history: () => ({ text: history, releases: [{ id: 'r1', complete: true }] }),
    });
    if (target.host === 'b') host.health = () => ({ status: 503, body: 'DOWN' });
    return { host, close: async () => undefined };
  };
  const log = recordingLog();
  const result = await rollout({
    settings: {
      ...settings,
      targets: targets('a', 'b', 'c'),
      mode: 'rollback',
      releaseId: undefined,
      healthTimeoutMs: 200,
    },
    connect,
    log,
    lockHolder: 'test',
  });
  expect(connected).toEqual(['a', 'b']);
  expect(result.mode === 'rollback' && result.outcomes).toEqual([
    { host: 'a', ok: true, releaseId: 'r1', activePort: 8080, previousPort: 8081, previousRelease: 'r2' },
    {
      host: 'b',
      ok: false,
      releaseId: 'r1',
      activePort: 8081,
      previousPort: 8081,
      previousRelease: 'r2',
      error:
        'Health check failed: http://127.0.0.1:8080/actuator/health was not healthy within 0.2 s; last answer: HTTP 503 DOWN',
    },
    { host: 'c', ok: false, error: 'not attempted' },
  ]);
  expect(log.lines.filter((l) => l.includes('rollback-on-failure'))).toEqual([]);
});
