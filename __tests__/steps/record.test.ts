// The run in the host's history: its start (fatal when it cannot be written), how a failed run ends, and its
// end (a warning when it cannot be written).
import { DeployCancelled } from '../../src/steps/context.js';
import { failedEnd, previousOf, recordEnd, recordStart } from '../../src/steps/record.js';
import { StepError } from '../../src/steps/runner.js';
import { exitCode } from '../support/fake-host.js';
import { rejection, stepContext } from './helpers.js';

describe('recordStart', () => {
  test('one start record with who started the run; the run id is open', async () => {
    const s = stepContext();
    s.ctx.run.info = { actor: 'alice', run: '7.2' };
    await s.clock.sleep(1500);
    await recordStart(s.ctx, { mode: 'deploy', release: 'r2', sha256: 'aa' });
    expect(s.host.ran).toEqual(['record the run in /opt/app/history.jsonl']);
    expect(s.host.history).toEqual([
      {
        record: {
          v: 1,
          event: 'start',
          id: s.ctx.run.id,
          mode: 'deploy',
          release: 'r2',
          sha256: 'aa',
          actor: 'alice',
          run: '7.2',
          started: '1970-01-01T00:00:01.500Z',
        },
        marker: `open ${s.ctx.run.id}`,
      },
    ]);
    // The keys in a fixed order: what the run is, who started it, when.
    expect(Object.keys(s.host.history[0].record)).toEqual([
      'v',
      'event',
      'id',
      'mode',
      'release',
      'sha256',
      'actor',
      'run',
      'started',
    ]);
    expect(s.ctx.run.id).toMatch(/^19700101T000000Z-[0-9a-f]{6}$/);
  });

  test('a history that cannot be written stops the run before anything changed', async () => {
    const s = stepContext({ appendHistory: exitCode(1, 'cannot write /opt/app/history.jsonl') });
    const error = await rejection(recordStart(s.ctx, { mode: 'rollback', reason: 'why' }));
    expect(error.message).toBe(
      'History failed: cannot record the run in /opt/app/history.jsonl; nothing was changed: record the run in /opt/app/history.jsonl failed with exit code 1:\ncannot write /opt/app/history.jsonl',
    );
    expect(error).toBeInstanceOf(StepError);
    expect(error instanceof StepError && error.step).toBe('History');
  });
});

describe('recordEnd', () => {
  test('one end record; the open marker goes', async () => {
    const s = stepContext();
    await recordEnd(s.ctx, { result: 'rolled-back-to', release: 'r1', port: 8080 });
    expect(s.host.history).toEqual([
      {
        record: {
          v: 1,
          event: 'end',
          id: s.ctx.run.id,
          ended: '1970-01-01T00:00:00.000Z',
          result: 'rolled-back-to',
          release: 'r1',
          port: 8080,
        },
        marker: 'close',
      },
    ]);
  });

  test('an end that cannot be written is a warning: the run is over', async () => {
    const s = stepContext({ appendHistory: exitCode(1, 'disk full') });
    await recordEnd(s.ctx, { result: 'deployed' });
    expect(s.log.lines).toEqual([
      'warning: could not record the end of the run in /opt/app/history.jsonl: record the run in /opt/app/history.jsonl failed with exit code 1:\ndisk full',
    ]);
  });
});

describe('failedEnd', () => {
  test('a failed step: failed at it, with what the run knew and the first line of the error', () => {
    const s = stepContext();
    Object.assign(s.ctx.state, {
      releaseId: 'r2',
      servingPort: 8080,
      previousPort: 8080,
      previousRelease: 'r1',
    });
    expect(failedEnd(s.ctx, new StepError('Health check', new Error('not healthy\nlast answer')))).toEqual({
      result: 'failed',
      release: 'r2',
      port: 8080,
      previous: { release: 'r1', port: 8080 },
      step: 'Health check',
      error: 'Health check failed: not healthy',
    });
  });

  test('cancelled, directly or in a step', () => {
    const s = stepContext();
    expect(failedEnd(s.ctx, new DeployCancelled())).toEqual({
      result: 'cancelled',
      error: 'the deploy was cancelled',
    });
    expect(failedEnd(s.ctx, new StepError('Bake', new DeployCancelled()))).toEqual({
      result: 'cancelled',
      step: 'Bake',
      error: 'Bake failed: the deploy was cancelled',
    });
  });

  test('an error outside a step: the last step run; a non-Error; a long message is cut at 500', async () => {
    const s = stepContext();
    await s.ctx.steps.run('Detect ports', async () => undefined);
    expect(failedEnd(s.ctx, 'plain')).toEqual({ result: 'failed', step: 'Detect ports', error: 'plain' });
    expect(failedEnd(s.ctx, new Error('x'.repeat(600)))).toEqual({
      result: 'failed',
      step: 'Detect ports',
      error: 'x'.repeat(500),
    });
  });
});

test('previousOf: what served before, when known', () => {
  const s = stepContext();
  expect(previousOf(s.ctx)).toEqual({});
  s.ctx.state.previousPort = 8080;
  expect(previousOf(s.ctx)).toEqual({ previous: { port: 8080 } });
  s.ctx.state.previousRelease = 'r1';
  expect(previousOf(s.ctx)).toEqual({ previous: { release: 'r1', port: 8080 } });
  s.ctx.state.previousPort = undefined;
  expect(previousOf(s.ctx)).toEqual({ previous: { release: 'r1' } });
});
