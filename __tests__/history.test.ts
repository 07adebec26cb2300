// The host's history read back (src/history.ts): runs merged from their start and end lines, the release a
// rollback goes back to, who started a run, and the run id.
import {
  chooseRollback,
  newRunId,
  parseHistory,
  recordLine,
  runInfo,
  type Deployment,
  type EndRecord,
  type ReleaseOnHost,
  type StartRecord,
} from '../src/history.js';

const T = (n: number) => `2026-11-0${n}T10:00:00.000Z`;

function start(id: string, mode: 'deploy' | 'rollback', release?: string, extra: Partial<StartRecord> = {}) {
  return recordLine({
    v: 1,
    event: 'start',
    id,
    mode,
    ...(release ? { release } : {}),
    started: T(1),
    ...extra,
  });
}

function end(id: string, result: EndRecord['result'], extra: Partial<EndRecord> = {}) {
  return recordLine({ v: 1, event: 'end', id, ended: T(2), result, ...extra });
}

const onHost = (...ids: string[]): ReleaseOnHost[] => ids.map((id) => ({ id, complete: true }));

describe('recordLine', () => {
  test('one JSON line, keys in the order given, undefined ones left out', () => {
    expect(
      recordLine({
        v: 1,
        event: 'start',
        id: 'x',
        mode: 'deploy',
        release: 'r1',
        reason: undefined,
        started: T(1),
      }),
    ).toBe(
      '{"v":1,"event":"start","id":"x","mode":"deploy","release":"r1","started":"2026-11-01T10:00:00.000Z"}',
    );
    expect(
      recordLine({
        v: 1,
        event: 'end',
        id: 'x',
        ended: T(2),
        result: 'failed',
        previous: { release: 'r0', port: 8080 },
        step: 'Health check',
        error: 'line "one"\nline two',
      }),
    ).toBe(
      '{"v":1,"event":"end","id":"x","ended":"2026-11-02T10:00:00.000Z","result":"failed","previous":{"release":"r0","port":8080},"step":"Health check","error":"line \\"one\\"\\nline two"}',
    );
  });
});

describe('parseHistory', () => {
  test('a start and its end merge into one run, oldest first; v and event go', () => {
    const text = [
      start('a', 'deploy', 'r1', { sha256: 'aa', actor: 'alice' }),
      start('b', 'deploy', 'r2'),
      end('a', 'deployed', { release: 'r1', port: 8080 }),
      end('b', 'failed', { release: 'r2', port: 8080, step: 'Health check', error: 'boom' }),
    ].join('\n');
    expect(parseHistory(`${text}\n`)).toEqual<Deployment[]>([
      {
        id: 'a',
        mode: 'deploy',
        release: 'r1',
        sha256: 'aa',
        actor: 'alice',
        started: T(1),
        ended: T(2),
        result: 'deployed',
        port: 8080,
      },
      {
        id: 'b',
        mode: 'deploy',
        release: 'r2',
        started: T(1),
        ended: T(2),
        result: 'failed',
        port: 8080,
        step: 'Health check',
        error: 'boom',
      },
    ]);
  });

  test('a start without an end is running', () => {
    expect(parseHistory(start('a', 'rollback', undefined, { reason: 'why' }))).toEqual([
      { id: 'a', mode: 'rollback', reason: 'why', started: T(1), result: 'running' },
    ]);
  });

  test("the watchdog's interrupted end closes the run", () => {
    const watchdog =
      '{"v":1,"event":"end","id":"a","ended":"2026-11-02T10:00:00Z","result":"interrupted","error":"gone"}';
    expect(parseHistory([start('a', 'deploy', 'r1'), watchdog].join('\n'))).toEqual([
      {
        id: 'a',
        mode: 'deploy',
        release: 'r1',
        started: T(1),
        ended: '2026-11-02T10:00:00Z',
        result: 'interrupted',
        error: 'gone',
      },
    ]);
  });

  test('lines that are not records are skipped: bad JSON, other versions, no id, unknown events, ends without a start', () => {
    const text = [
      '',
      'not json',
      '{"v":1,"event":"start","id":"a","mode":"deploy","started":"t"',
      '{"v":2,"event":"start","id":"b","mode":"deploy","started":"t"}',
      '{"v":1,"event":"start","mode":"deploy","started":"t"}',
      '{"v":1,"event":"start","id":7,"mode":"deploy","started":"t"}',
      '{"v":1,"event":"middle","id":"c","started":"t"}',
      'null',
      '"string"',
      end('d', 'deployed'),
      start('e', 'deploy', 'r5'),
    ].join('\n');
    expect(parseHistory(text)).toEqual([
      { id: 'e', mode: 'deploy', release: 'r5', started: T(1), result: 'running' },
    ]);
  });

  test("the first end wins (the run's own before the watchdog's), and a second start of an id is ignored", () => {
    const text = [
      start('a', 'deploy', 'r1'),
      start('a', 'rollback', 'r9'),
      end('a', 'deployed', { release: 'r1', port: 8081 }),
      end('a', 'interrupted', { error: 'late' }),
    ].join('\n');
    expect(parseHistory(text)).toEqual([
      { id: 'a', mode: 'deploy', release: 'r1', started: T(1), ended: T(2), result: 'deployed', port: 8081 },
    ]);
  });
});

/** The runs of a host: r1 and r2 deployed, r3 failed; r2 is live. */
function story(...extra: string[]): Deployment[] {
  return parseHistory(
    [
      start('1', 'deploy', 'r1'),
      end('1', 'deployed', { release: 'r1', port: 8080 }),
      start('2', 'deploy', 'r2'),
      end('2', 'deployed', { release: 'r2', port: 8081, previous: { release: 'r1', port: 8080 } }),
      start('3', 'deploy', 'r3'),
      end('3', 'failed', { release: 'r3', step: 'Health check', error: 'boom' }),
      ...extra,
    ].join('\n'),
  );
}

describe('chooseRollback', () => {
  test('the previous good release: the newest one deployed, other than the live one', () => {
    expect(chooseRollback(story(), 'r2', onHost('r1', 'r2', 'r3'))).toEqual({
      releaseId: 'r1',
      why: `deployed ${T(2)}`,
    });
  });

  test('a failed deploy is never chosen, even when it is the newest', () => {
    expect(chooseRollback(story(), 'r1', onHost('r1', 'r2', 'r3'))).toEqual({
      releaseId: 'r2',
      why: `deployed ${T(2)}`,
    });
    expect(chooseRollback(story(), 'r2', onHost('r2', 'r3'))).toEqual({
      error:
        'no earlier good release to roll back to (live: r2): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id (releases on the host: r2, r3)',
    });
  });

  test('a good release that is gone from the host, or partial there, is not chosen', () => {
    const partial = [{ id: 'r1', complete: false }, ...onHost('r2')];
    expect(chooseRollback(story(), 'r2', partial)).toEqual({
      error:
        'no earlier good release to roll back to (live: r2): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id (releases on the host: r1, r2)',
    });
    expect(chooseRollback(story(), undefined, [])).toEqual({
      error:
        'no earlier good release to roll back to (live: none): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id (it has none)',
    });
  });

  test('the release a rollback left is not chosen again; the one it went back to is good', () => {
    const rolledBack = [
      start('4', 'rollback'),
      end('4', 'rolled-back-to', { release: 'r1', port: 8080, previous: { release: 'r2', port: 8081 } }),
    ];
    expect(chooseRollback(story(...rolledBack), 'r1', onHost('r1', 'r2', 'r3'))).toEqual({
      error:
        'no earlier good release to roll back to (live: r1): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id (releases on the host: r1, r2, r3)',
    });
    const deployedAfter = [
      ...rolledBack,
      start('5', 'deploy', 'r5'),
      end('5', 'deployed', { release: 'r5' }),
    ];
    expect(chooseRollback(story(...deployedAfter), 'r5', onHost('r1', 'r2', 'r5'))).toEqual({
      releaseId: 'r1',
      why: `rolled back to ${T(2)}`,
    });
  });

  test('interrupted, cancelled and still running deploys are never chosen; failed rollbacks mark nothing', () => {
    const runs = parseHistory(
      [
        start('1', 'deploy', 'r1'),
        end('1', 'deployed', { release: 'r1' }),
        start('2', 'deploy', 'r2'),
        end('2', 'interrupted', { error: 'gone' }),
        start('3', 'deploy', 'r3'),
        end('3', 'cancelled', { release: 'r3', step: 'Bake' }),
        start('4', 'deploy', 'r4'),
        start('5', 'rollback', 'r1'),
        end('5', 'failed', { release: 'r1', step: 'Choose release' }),
      ].join('\n'),
    );
    expect(chooseRollback(runs, 'r9', onHost('r1', 'r2', 'r3', 'r4'))).toEqual({
      releaseId: 'r1',
      why: `deployed ${T(2)}`,
    });
    expect(chooseRollback(runs, 'r1', onHost('r1', 'r2', 'r3', 'r4'))).toEqual({
      error:
        'no earlier good release to roll back to (live: r1): a release qualifies once it went live in a successful deploy, is not the one a rollback left, and is still on the host; name one with release-id (releases on the host: r1, r2, r3, r4)',
    });
    expect(chooseRollback(runs, 'r1', onHost('r1', 'r2'), 'r2')).toEqual({
      error: `release r2 failed when it was deployed (interrupted ${T(2)}); it is never rolled back to`,
    });
    expect(chooseRollback(runs, 'r1', onHost('r1', 'r3'), 'r3')).toEqual({
      error: `release r3 failed when it was deployed (cancelled at Bake ${T(2)}); it is never rolled back to`,
    });
  });

  describe('a named release', () => {
    test('one on the host, complete, never failed: chosen', () => {
      expect(chooseRollback(story(), 'r2', onHost('r1', 'r2', 'r3'), 'r1')).toEqual({
        releaseId: 'r1',
        why: 'named by release-id',
      });
      // Without any history too: the person naming it vouches for it.
      expect(chooseRollback([], 'r2', onHost('r1', 'r2'), 'r1')).toEqual({
        releaseId: 'r1',
        why: 'named by release-id',
      });
    });

    test('the live one: chosen, serving already (a fleet converges on it)', () => {
      expect(chooseRollback(story(), 'r2', onHost('r1', 'r2'), 'r2')).toEqual({
        releaseId: 'r2',
        why: 'serving already',
      });
    });

    test('missing from the host: the releases there are listed', () => {
      expect(chooseRollback(story(), 'r2', onHost('r1', 'r2'), 'r0')).toEqual({
        error: 'release r0 is not on the host (releases on the host: r1, r2)',
      });
      expect(chooseRollback([], undefined, [], 'r0')).toEqual({
        error: 'release r0 is not on the host (it has none)',
      });
    });

    test('partial on the host', () => {
      expect(chooseRollback(story(), 'r2', [{ id: 'r1', complete: false }], 'r1')).toEqual({
        error: 'release r1 on the host has no complete app.jar with its sha256; choose another',
      });
    });

    test('failed when deployed', () => {
      expect(chooseRollback(story(), 'r2', onHost('r1', 'r2', 'r3'), 'r3')).toEqual({
        error: `release r3 failed when it was deployed (failed at Health check ${T(2)}); it is never rolled back to`,
      });
    });
  });

  test('no history: an error that asks for release-id and lists the releases', () => {
    expect(chooseRollback([], 'r2', onHost('r1', 'r2'))).toEqual({
      error:
        'the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id (releases on the host: r1, r2)',
    });
    expect(chooseRollback([], undefined, [])).toEqual({
      error:
        'the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id (it has none)',
    });
  });
});

describe('runInfo', () => {
  const env = {
    GITHUB_SHA: 'abc123',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '1234',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SERVER_URL: 'https://ghe.example',
    GITHUB_TRIGGERING_ACTOR: 'bob',
    GITHUB_ACTOR: 'alice',
    GITHUB_WORKFLOW: 'deploy',
  };

  test('the runner environment, each to its field; a re-run attempt after the run id', () => {
    expect(runInfo(env)).toEqual({
      commit: 'abc123',
      ref: 'refs/heads/main',
      run: '1234.2',
      url: 'https://ghe.example/acme/shop/actions/runs/1234',
      actor: 'bob',
      workflow: 'deploy',
    });
  });

  test('the first attempt is the run id alone; github.com by default; an empty triggering actor is none', () => {
    const rest: NodeJS.ProcessEnv = { ...env };
    delete rest.GITHUB_SERVER_URL;
    expect(runInfo({ ...rest, GITHUB_RUN_ATTEMPT: '1', GITHUB_TRIGGERING_ACTOR: '' })).toEqual({
      commit: 'abc123',
      ref: 'refs/heads/main',
      run: '1234',
      url: 'https://github.com/acme/shop/actions/runs/1234',
      actor: 'alice',
      workflow: 'deploy',
    });
  });

  test('without a run id or repository there is no url; empty values are left out', () => {
    expect(runInfo({ GITHUB_RUN_ATTEMPT: '3', GITHUB_REPOSITORY: 'acme/shop', GITHUB_SHA: '' })).toEqual({});
    expect(runInfo({ GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '' })).toEqual({ run: '9' });
    expect(Object.keys(runInfo({ GITHUB_RUN_ID: '9' }))).toEqual(['run']);
  });
});

describe('newRunId', () => {
  test('UTC time to the second, then six hex digits', () => {
    const now = new Date('2026-11-30T11:52:21.987Z');
    expect(newRunId(now, () => 0.5)).toBe('20261130T115221Z-800000');
    expect(newRunId(now, () => 0)).toBe('20261130T115221Z-000000');
    expect(newRunId(now, () => 0.9999999999)).toBe('20261130T115221Z-ffffff');
    expect(newRunId(now, () => 0.001)).toBe('20261130T115221Z-004189');
  });

  test('random by default; only characters the watchdog prints as they are', () => {
    const ids = new Set(Array.from({ length: 20 }, () => newRunId(new Date(0))));
    expect(ids.size).toBeGreaterThan(1);
    for (const id of ids) expect(id).toMatch(/^19700101T000000Z-[0-9a-f]{6}$/);
  });
});
