// Several hosts: batch by batch, and a failed batch stops the rollout so later hosts keep the old version.
import type { HostTarget } from '../src/inputs.js';
import { batches, rollout } from '../src/rollout.js';
import { blueLive, FakeHost, launched, quiet, settings, switched } from './support/fake-host.js';

const hosts: HostTarget[] = ['a', 'b', 'c', 'd', 'e'].map((host) => ({ host, port: 22 }));

test('batches', () => {
  expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  expect(batches([1, 2], 5)).toEqual([[1, 2]]);
});

async function roll(batchSize: number, broken: string[]) {
  const connected: string[] = [];
  const result = await rollout(
    { ...settings, targets: hosts, batchSize },
    async (target) => {
      connected.push(target.host);
      const host = new FakeHost([blueLive, launched, switched]);
      if (broken.includes(target.host)) host.health = () => ({ status: 503, body: 'DOWN' });
      return host;
    },
    quiet,
    'test',
  );
  return { connected, result };
}

test('all hosts, two at a time, all succeed', async () => {
  const { connected, result } = await roll(2, []);
  expect(connected.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(result.outcomes.map((o) => [o.host, o.ok, o.activePort, o.previousPort])).toEqual(
    ['a', 'b', 'c', 'd', 'e'].map((h) => [h, true, 8081, 8080]),
  );
  expect(result.steps.filter((s) => s.name === 'Connect')).toHaveLength(5);
});

test('a failure in the second batch stops the rollout: later hosts are not touched', async () => {
  const { connected, result } = await roll(2, ['c']);
  expect(connected.sort()).toEqual(['a', 'b', 'c', 'd']); // c and d ran together; e never started
  expect(result.outcomes.map((o) => [o.host, o.ok])).toEqual([
    ['a', true],
    ['b', true],
    ['c', false],
    ['d', true],
    ['e', false],
  ]);
  expect(result.outcomes.find((o) => o.host === 'c')?.error).toMatch(/Health check failed on c/);
  expect(result.outcomes.find((o) => o.host === 'e')?.error).toBe('not attempted');
}, 10_000);

test('a failed connection counts as a failed host', async () => {
  const result = await rollout(
    { ...settings, targets: hosts.slice(0, 2), batchSize: 1 },
    async () => {
      throw new Error('could not connect to a:22: ECONNREFUSED');
    },
    quiet,
    'test',
  );
  expect(result.outcomes).toEqual([
    {
      host: 'a',
      ok: false,
      releaseId: 'r2',
      error: 'Connect failed on a: could not connect to a:22: ECONNREFUSED',
    },
    { host: 'b', ok: false, releaseId: 'r2', error: 'not attempted' },
  ]);
});
