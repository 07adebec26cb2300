// One step run alone against the fake host: its context on a fake clock that also times the steps, and the plan
// detection gives by default (blue 8080 live with our pid 11, green 8081 free).
import type { Detection } from '../../src/commands/detect.js';
import type { Settings } from '../../src/inputs.js';
import { defaultUpstreamFile } from '../../src/nginx-upstream.js';
import { planPorts, type PortPlan } from '../../src/plan.js';
import { hostContext } from '../../src/steps/context.js';
import { StepRunner } from '../../src/steps/runner.js';
import { blueLive, FakeHost, fakeClock, recordingLog, settings, type Answers } from '../support/fake-host.js';

export const INC = '/etc/nginx/conf.d/service-url.inc';
export const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';

export function stepContext(answers: Answers = {}, extra: Partial<Settings> = {}, signal?: AbortSignal) {
  const host = new FakeHost(answers);
  const log = recordingLog();
  const clock = fakeClock();
  const steps = new StepRunner('h', log, clock.now);
  const ctx = hostContext({
    settings: { ...settings, ...extra },
    host,
    steps,
    log,
    lockHolder: 't',
    signal,
    clock,
  });
  const rows = () => steps.records.map((r) => [r.name, r.status, r.detail]);
  return { ctx, host, log, clock, rows };
}

export function planFor(detection: Detection = blueLive()): PortPlan {
  return planPorts(detection, {
    blue: 8080,
    green: 8081,
    includePath: INC,
    upstreamPath: defaultUpstreamFile(INC),
  });
}

export const firstDeploy = (): Detection => ({
  include: { state: 'missing' },
  upstream: { state: 'missing' },
  releases: 0,
  ports: new Map(),
});

/** The rejection of a promise that must fail. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}
