// The 3 AM figure: putting the previous version back. Baseline: rebuild the old commit and deploy it (a rebuilt
// jar is new bytes, so it is uploaded); this action: `mode: rollback` (the release is still on the host: no
// build, no upload). Both under load through nginx, from v2 back to v1 (a ~100 MB jar), on fresh loopback targets.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { underLoad } from '../test-target/load.js';
import { runAction, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { bigJar } from './extras.js';
import { median } from './report.js';

const RUNS = 3;

async function back(t: Target, inputs: Record<string, string>, log: string) {
  const { result, report } = await underLoad(
    t.nginxUrl,
    () => runAction({ inputs: targetInputs(t, inputs) }),
    {
      warmup: 50,
    },
  );
  writeFileSync(log, result.log);
  if (result.code !== 0) throw new Error(`the way back failed; see ${log}`);
  return { wallMs: result.durationMs, requests: report.total, failed: report.failed };
}

export async function rollbackBench(work: string, logs: string) {
  const v1 = await bigJar(work, 'v1');
  const rebuilt = await bigJar(work, 'v1-rebuilt');
  const v2 = await buildDemoJar({ version: 'v2' });
  const rows: {
    how: 'redeploy' | 'rollback';
    run: number;
    wallMs: number;
    requests: number;
    failed: number;
  }[] = [];
  for (let i = 1; i <= RUNS; i++) {
    for (const how of ['redeploy', 'rollback'] as const) {
      const t = await startTarget();
      try {
        for (const [jar, id] of [
          [v1, 'v1'],
          [v2, 'v2'],
        ]) {
          const r = await runAction({ inputs: targetInputs(t, { jar, 'release-id': id }) });
          if (r.code !== 0) throw new Error(`setting up ${id} failed:\n${r.log}`);
        }
        const inputs: Record<string, string> =
          how === 'rollback' ? { mode: 'rollback' } : { jar: rebuilt, 'release-id': 'v1-rebuilt' };
        rows.push({ how, run: i, ...(await back(t, inputs, path.join(logs, `rollback-${how}-${i}.log`))) });
      } finally {
        await t.stop();
      }
    }
  }
  const of = (how: string) => rows.filter((r) => r.how === how);
  return {
    rows,
    redeployMs: median(of('redeploy').map((r) => r.wallMs)),
    rollbackMs: median(of('rollback').map((r) => r.wallMs)),
    failed: rows.reduce((a, r) => a + r.failed, 0),
  };
}
