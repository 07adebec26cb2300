// Several hosts: batch by batch, and a failed batch stops the rollout so later hosts keep the old version
// (and, with rollback-on-failure, the hosts already switched go back: more in fleet.test.ts).
import type { HostTarget } from '../src/inputs.js';
import { batches, hostLabel, rollout } from '../src/rollout.js';
import { FakeHost, recordingLog, settings } from './support/fake-host.js';
import { rollFleet } from './support/fleet.js';

const hosts: HostTarget[] = ['a', 'b', 'c', 'd', 'e'].map((host) => ({ host, port: 22 }));

test('batches', () => {
  expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  expect(batches([1, 2], 5)).toEqual([[1, 2]]);
  expect(batches([1, 2, 3], 1)).toEqual([[1], [2], [3]]);
});

test('host labels name the port only when it is not 22', () => {
  expect(hostLabel({ host: 'a', port: 22 })).toBe('a');
  expect(hostLabel({ host: 'a', port: 2222 })).toBe('a:2222');
});

async function roll(batchSize: number, broken: string[], targets = hosts, rollbackOnFailure = true) {
  const fleet = await rollFleet({ targets, batchSize, rollbackOnFailure }, { broken });
  const connected = fleet.connections.map((c) => c.target);
  return { ...fleet, connected };
}

const FAILED_C =
  'Health check failed: http://127.0.0.1:8081/actuator/health was not healthy within 0.2 s; last answer: HTTP 503 DOWN';

test('all hosts, two at a time, all succeed; every connection is closed', async () => {
  const { connected, closed, result } = await roll(2, []);
  expect(connected.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(closed.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(result.outcomes).toEqual(
    ['a', 'b', 'c', 'd', 'e'].map((host) => ({
      host,
      ok: true,
      releaseId: 'r2',
      activePort: 8081,
      previousPort: 8080,
      previousRelease: 'r1',
    })),
  );
  expect(result.steps.filter((s) => s.name === 'Connect').map((s) => s.host)).toEqual([
    'a',
    'b',
    'c',
    'd',
    'e',
  ]);
});

test('rollback-on-failure false: a failure in the second batch stops the rollout, later hosts are not touched', async () => {
  const { connected, closed, result, log } = await roll(2, ['c'], hosts, false);
  expect(connected).toEqual(['a', 'b', 'c', 'd']); // c and d ran together; e never started
  expect(closed.sort()).toEqual(['a', 'b', 'c', 'd']);
  const switched = (host: string) => ({
    host,
    ok: true,
    releaseId: 'r2',
    activePort: 8081,
    previousPort: 8080,
    previousRelease: 'r1',
  });
  // The host is named once (by the outcome), the step and the cause in the error.
  expect(result.outcomes).toEqual([
    switched('a'),
    switched('b'),
    {
      host: 'c',
      ok: false,
      releaseId: 'r2',
      activePort: 8080,
      previousPort: 8080,
      previousRelease: 'r1',
      error: FAILED_C,
    },
    switched('d'),
    { host: 'e', ok: false, error: 'not attempted' },
  ]);
  expect(log.lines.filter((l) => l.includes('rollback-on-failure'))).toEqual([]);
});

test('a failure in the second batch stops the rollout and (rollback-on-failure) rolls back a, b and d', async () => {
  const { connected, closed, result, log } = await roll(2, ['c']);
  // c and d ran together; e never started; then a and b (one batch), then d, connect again.
  expect(connected).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'd']);
  expect(closed.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'd', 'd']);
  const back = (host: string) => ({
    host,
    ok: true,
    releaseId: 'r2',
    activePort: 8081,
    previousPort: 8080,
    previousRelease: 'r1',
    rolledBack: { ok: true, releaseId: 'r1', activePort: 8080 },
  });
  expect(result.outcomes).toEqual([
    back('a'),
    back('b'),
    {
      host: 'c',
      ok: false,
      releaseId: 'r2',
      activePort: 8080,
      previousPort: 8080,
      previousRelease: 'r1',
      error: FAILED_C,
    },
    back('d'),
    { host: 'e', ok: false, error: 'not attempted' },
  ]);
  expect(log.lines).toContain('info: rollback-on-failure: c failed; rolling back a, b, d');
});

test('parallel hosts log with their name on every line; a single host uses groups', async () => {
  const parallel = await roll(2, [], hosts.slice(0, 2));
  expect(parallel.log.lines).toContain('info: [a] ── Lock');
  expect(parallel.log.lines.some((l) => l.startsWith('group:'))).toBe(false);
  const single = await roll(1, [], hosts.slice(0, 1));
  expect(single.log.lines).toContain('group: Lock');
});

test('several hosts one at a time: every line still names its host', async () => {
  const sequential = await roll(1, [], hosts.slice(0, 2));
  expect(sequential.log.lines).toContain('info: [a] ── Lock');
  expect(sequential.log.lines).toContain('info: [b] ── Lock');
  expect(sequential.log.lines.some((l) => l.startsWith('group:'))).toBe(false);
});

test('a failed connection counts as a failed host, with no release claimed', async () => {
  const result = await rollout({
    settings: { ...settings, targets: hosts.slice(0, 2), batchSize: 1 },
    connect: async () => {
      throw new Error('could not connect to a:22: ECONNREFUSED');
    },
    log: recordingLog(),
    lockHolder: 'test',
  });
  expect(result.mode === 'deploy' && result.outcomes).toEqual([
    { host: 'a', ok: false, error: 'Connect failed: could not connect to a:22: ECONNREFUSED' },
    { host: 'b', ok: false, error: 'not attempted' },
  ]);
});

test('a cancelled run attempts no further batch', async () => {
  const abort = new AbortController();
  abort.abort();
  const result = await rollout({
    settings: { ...settings, targets: hosts.slice(0, 2), batchSize: 1 },
    connect: async () => ({ host: new FakeHost(), close: async () => undefined }),
    log: recordingLog(),
    lockHolder: 'test',
    signal: abort.signal,
  });
  expect(result.mode === 'deploy' && result.outcomes.map((o) => o.error)).toEqual([
    'not attempted',
    'not attempted',
  ]);
});
