// drainWorkers: whole script with and without workers, the parser, and real processes in a sandbox.
import { drainWorkers } from '../../src/commands/drain.js';
import { nowMsSh } from '../../src/commands/functions.js';
import { OutputError } from '../../src/commands/types.js';
import { SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';
import { body, replaced } from './helpers.js';

describe('drainWorkers script', () => {
  test('with workers: whole script', () => {
    const cmd = drainWorkers([101, 102], 3000);
    expect(cmd.kind).toBe('drain');
    expect(cmd.title).toBe('wait for 2 old nginx workers');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.waitMs).toBe(3000); // its deadline: drain-timeout + command-timeout
    expect(body(cmd.script, [nowMsSh()])).toMatchInlineSnapshot(`
"t0=$(now_ms)
deadline=$((t0 + 3000))
timed_out=0
for w in 101 102; do
  while [ -d "/proc/$w" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$w/status" 2>/dev/null; do
    [ "$(now_ms)" -ge "$deadline" ] && { timed_out=1; break 2; }
    sleep 0.02
  done
done
echo "timed_out=$timed_out"
echo "drain_ms=$(($(now_ms) - t0))"
"
`);
  });

  test('without workers: an empty loop', () => {
    const cmd = drainWorkers([], 3000);
    expect(cmd.title).toBe('wait for 0 old nginx workers');
    expect(cmd.script).toBe(
      replaced(drainWorkers([101, 102], 3000).script, { 'for w in 101 102; do': 'for w in ; do' }),
    );
  });

  test('another timeout', () => {
    expect(drainWorkers([7], 10).script).toBe(
      replaced(drainWorkers([101, 102], 3000).script, {
        'deadline=$((t0 + 3000))': 'deadline=$((t0 + 10))',
        'for w in 101 102; do': 'for w in 7; do',
      }),
    );
  });

  test('parser', () => {
    const parse = (stdout: string) => drainWorkers([1], 1).parse(stdout);
    expect(parse('timed_out=0\ndrain_ms=12\n')).toEqual({ ms: 12, timedOut: false });
    expect(parse('timed_out=1\ndrain_ms=3001\n')).toEqual({ ms: 3001, timedOut: true });
    expect(() => parse('drain_ms=1\n')).toThrow(new OutputError('the remote script printed no timed_out='));
    expect(() => parse('timed_out=0\n')).toThrow(new OutputError('the remote script printed no drain_ms='));
    expect(() => parse('timed_out=x\ndrain_ms=1\n')).toThrow(OutputError);
  });
});

describeInSandbox('drainWorkers with real processes (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  /** Starts a live worker ($live), an exited one ($dead) and a zombie ($zombie), then runs the given drain. */
  async function drain(build: (pids: Record<string, number>) => string) {
    const s = box.start(
      [
        SCENARIO,
        'sleep 30 & live=$!',
        'sleep 30 & dead=$!; kill -9 "$dead"; wait "$dead" 2>/dev/null',
        `sh -c 'sleep 0 & echo $! > z.pid; exec sleep 30' &`,
        'while [ ! -s z.pid ]; do sleep 0.01; done; zombie=$(cat z.pid); wait_gone "$zombie" 1000',
        'echo "pids=$live $dead $zombie"',
        'run_given drain',
      ].join('\n'),
    );
    const [live, dead, zombie] = (await s.waitFor(/^pids=/)).slice('pids='.length).split(' ').map(Number);
    const cmd = build({ live, dead, zombie });
    box.give('drain', cmd);
    const r = await s.done;
    expect(r.stderr).toBe('');
    return drainWorkers([], 0).parse(r.stdout);
  }

  test('a live worker past the deadline: timed out, after the deadline', async () => {
    const d = await drain(({ live, dead }) => drainWorkers([dead, live], 300).script);
    expect(d.timedOut).toBe(true);
    expect(d.ms).toBeGreaterThanOrEqual(300);
    expect(d.ms).toBeLessThan(1500);
  });

  test('exited and zombie workers: drained at once', async () => {
    const d = await drain(({ dead, zombie }) => drainWorkers([dead, zombie], 5000).script);
    expect(d.timedOut).toBe(false);
    expect(d.ms).toBeLessThan(1000);
  });

  test('no workers: drained at once', async () => {
    const d = await drain(() => drainWorkers([], 5000).script);
    expect(d.timedOut).toBe(false);
    expect(d.ms).toBeLessThan(1000);
  });
});
