// Fake hosts for a rollout: every connection to a target is a new FakeHost. The first one sees release r1 live
// on blue (8080), or nothing at all (a first deploy); a later one (a fleet rollback after this run's deploy)
// sees r2 live on green (8081), r1 stopped and still on the host.
import type { CommandResults } from '../../src/commands/types.js';
import type { HostTarget, Settings } from '../../src/inputs.js';
import { rollout, type Connector } from '../../src/rollout.js';
import { FakeHost, recordingLog, settings } from './fake-host.js';

export const greenLive = (): CommandResults['detect'] => ({
  include: { state: 'present', text: '# mine\nset $service_url "http://localhost:8081/";\n' },
  upstream: { state: 'missing' },
  releases: 2,
  ports: new Map([
    [8080, { port: 8080, listening: false }],
    [8081, { port: 8081, listening: true, ours: { pid: 22, start: '200', release: 'r2' } }],
  ]),
});

const nothing = (): CommandResults['detect'] => ({
  include: { state: 'missing' },
  upstream: { state: 'missing' },
  releases: 0,
  ports: new Map(),
});

export interface FleetFaults {
  /** Never healthy on the first connection (the deploy fails there). */
  broken?: string[];
  /** Never healthy on a later connection (the fleet's rollback fails there). */
  brokenLater?: string[];
  /** Nothing of ours on the host before the deploy. */
  firstDeploy?: string[];
}

export function fakeFleet(faults: FleetFaults = {}) {
  const connections: { target: string; host: FakeHost }[] = [];
  const closed: string[] = [];
  const connect: Connector = async (target) => {
    const later = connections.some((c) => c.target === target.host);
    const first = faults.firstDeploy?.includes(target.host) ? nothing : undefined;
    const host = new FakeHost({ detect: later ? greenLive : first });
    const broken = later ? faults.brokenLater : faults.broken;
    if (broken?.includes(target.host)) host.health = () => ({ status: 503, body: 'DOWN' });
    connections.push({ target: target.host, host });
    return { host, close: async () => void closed.push(target.host) };
  };
  /** The fake hosts of one target, one per connection. */
  const of = (name: string) => connections.filter((c) => c.target === name).map((c) => c.host);
  return { connect, connections, closed, of };
}

export function targets(...names: string[]): HostTarget[] {
  return names.map((host) => ({ host, port: 22 }));
}

/** A deploy or rollback rollout over fake hosts; the outcomes, steps and log. */
export async function rollFleet(extra: Partial<Settings>, faults: FleetFaults = {}) {
  const fleet = fakeFleet(faults);
  const log = recordingLog();
  const result = await rollout({
    settings: { ...settings, healthTimeoutMs: 200, ...extra },
    connect: fleet.connect,
    log,
    lockHolder: 'test',
  });
  if (result.mode !== 'deploy' && result.mode !== 'rollback') throw new Error(`mode ${result.mode}`);
  return { ...fleet, result, outcomes: result.outcomes, log };
}
