import type { Detection, PortState } from '../src/commands/detect.js';
import { PortConflictError, planPorts } from '../src/plan.js';

function detection(
  includePort: number | undefined,
  states: Partial<PortState>[],
  include: Detection['include'] = 'present',
): Detection {
  const ports = new Map<number, PortState>();
  for (const s of states) {
    if (s.port === undefined) throw new Error('a port state needs its port');
    ports.set(s.port, { listening: false, ...s } as PortState);
  }
  return { include, includePort, ports };
}
const ours = (pid: number) => ({ pid, start: '100', release: 'r' });

test('first deploy: nothing listens, include points nowhere', () => {
  const p = planPorts(detection(8080, [{ port: 8080 }, { port: 8081 }]), 8080, 8081);
  expect([p.live, p.idle, p.staleOnIdle, p.oldProcess]).toEqual([undefined, 8080, undefined, undefined]);
  expect(p.notes[0]).toMatch(/nothing listens: first deploy/);
});

test('first deploy: include missing', () => {
  const p = planPorts(detection(undefined, [{ port: 8080 }, { port: 8081 }], 'missing'), 8080, 8081);
  expect(p.idle).toBe(8080);
  expect(p.notes[0]).toMatch(/include is missing/);
});

test('blue live -> green idle, old process is ours', () => {
  const p = planPorts(
    detection(8080, [{ port: 8080, listening: true, ours: ours(11) }, { port: 8081 }]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8080, idle: 8081, oldProcess: { pid: 11, start: '100', ours: true } });
});

test('green live -> blue idle, a stale app of ours on blue is stopped first', () => {
  const p = planPorts(
    detection(8081, [
      { port: 8080, listening: true, ours: ours(22) },
      { port: 8081, listening: true, ours: ours(33) },
    ]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8081, idle: 8080, staleOnIdle: { pid: 22 }, oldProcess: { pid: 33 } });
});

test('a half-started app of ours (pid file, not listening) is stale too', () => {
  const p = planPorts(
    detection(8080, [
      { port: 8080, listening: true, ours: ours(1) },
      { port: 8081, ours: ours(2) },
    ]),
    8080,
    8081,
  );
  expect(p.staleOnIdle).toEqual({ pid: 2, start: '100' });
});

test('the idle port held by a stranger is refused, naming it', () => {
  const d = detection(8080, [
    { port: 8080, listening: true, ours: ours(1) },
    {
      port: 8081,
      listening: true,
      listener: { pid: 999, start: '5', command: 'python3 -m http.server 8081' },
    },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(PortConflictError);
  expect(() => planPorts(d, 8080, 8081)).toThrow(
    /idle port 8081 is held by pid 999 \(python3 -m http.server 8081\)/,
  );
});

test('a stranger the user cannot see is refused too', () => {
  const d = detection(8080, [
    { port: 8080, listening: true, ours: ours(1) },
    { port: 8081, listening: true },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(/cannot see/);
});

test('migrating from a hand-started app: it is the old process, stopped after the switch', () => {
  const p = planPorts(
    detection(8080, [
      { port: 8080, listening: true, listener: { pid: 77, start: '9', command: 'java -jar app.jar' } },
      { port: 8081 },
    ]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8080, idle: 8081, oldProcess: { pid: 77, start: '9', ours: false } });
});

test('first deploy with blue held by a stranger uses green', () => {
  const p = planPorts(
    detection(9999, [{ port: 8080, listening: true }, { port: 8081 }, { port: 9999 }]),
    8080,
    8081,
  );
  expect(p.idle).toBe(8081);
});
