// After a switch: wait for the old nginx workers to exit. They finish their in-flight requests (which may
// still go to the old app) and then exit; bounded by drain-timeout.
import { nowMsSh } from './functions.js';
import { keyValues, requiredNumber, script, type RemoteCommand } from './types.js';

export interface Drained {
  ms: number;
  /** Some old workers were still busy at the deadline. */
  timedOut: boolean;
}

export function drainWorkers(workers: readonly number[], timeoutMs: number): RemoteCommand<'drain'> {
  return {
    kind: 'drain',
    title: `wait for ${workers.length} old nginx workers`,
    waitMs: timeoutMs,
    script: script(
      nowMsSh(),
      't0=$(now_ms)',
      `deadline=$((t0 + ${timeoutMs}))`,
      'timed_out=0',
      `for w in ${workers.join(' ')}; do`,
      '  while [ -d "/proc/$w" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$w/status" 2>/dev/null; do',
      '    [ "$(now_ms)" -ge "$deadline" ] && { timed_out=1; break 2; }',
      '    sleep 0.02',
      '  done',
      'done',
      'echo "timed_out=$timed_out"',
      'echo "drain_ms=$(($(now_ms) - t0))"',
    ),
    parse: (stdout) => {
      const values = keyValues(stdout);
      return { ms: requiredNumber(values, 'drain_ms'), timedOut: requiredNumber(values, 'timed_out') === 1 };
    },
  };
}
