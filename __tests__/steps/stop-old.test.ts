// Step 12 alone: what is stopped after the switch, and when there is nothing of ours to stop.
import type { PortPlan } from '../../src/plan.js';
import { stopOld } from '../../src/steps/stop-old.js';
import { blueLive } from '../support/fake-host.js';
import { planFor, stepContext } from './helpers.js';

test('a live port served by a process the deploy user cannot see: left running, the step skipped', async () => {
  const detection = blueLive();
  detection.ports.set(8080, { port: 8080, listening: true });
  const plan = planFor(detection);
  expect(plan).toMatchObject({ live: 8080, oldProcess: undefined });
  const s = stepContext();
  await stopOld(s.ctx, plan);
  expect(s.host.ran).toEqual([]);
  expect(s.rows()).toEqual([['Stop old app', 'skipped', 'no previous app of ours']]);
});

test('an old process but no live port (nginx routed elsewhere): nothing to stop', async () => {
  const plan: PortPlan = { ...planFor(), live: undefined };
  expect(plan.oldProcess).toEqual({ pid: 11, start: '100', ours: true });
  const s = stepContext();
  await stopOld(s.ctx, plan);
  expect(s.host.ran).toEqual([]);
  expect(s.rows()).toEqual([['Stop old app', 'skipped', 'no previous app of ours']]);
});

test('the old app of ours: stopped on its port', async () => {
  const s = stepContext();
  await stopOld(s.ctx, planFor());
  expect(s.host.ran).toEqual(['stop pid 11 on port 8080']);
  expect(s.rows()).toEqual([
    ['Stop old app', 'ok', 'old pid 11 on port 8080: exited after SIGTERM in 0.04 s'],
  ]);
});
