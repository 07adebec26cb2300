// Where nginx routes, as status reports it: the deploy's own parsers, and every state the deploy would stop at
// said in words instead of thrown.
import type { Detection, FileRead } from '../src/commands/detect.js';
import { UNDERSTOOD_FORMS } from '../src/nginx-include.js';
import { upstreamText } from '../src/nginx-upstream.js';
import { nginxStatus } from '../src/status-nginx.js';
import { INC, UP } from './steps/helpers.js';

const FILES = { include: INC, upstream: UP };
const GROUP = 'bluegreen_service_url';

function detection(include: FileRead, upstream: FileRead = { state: 'missing' }): Detection {
  return {
    include,
    upstream,
    releases: 1,
    ports: new Map([[8080, { port: 8080, listening: true, ours: { pid: 1, start: '2', release: 'r1' } }]]),
  };
}
const text = (t: string): FileRead => ({ state: 'present', text: t });

function status(include: FileRead, upstream?: FileRead) {
  const notes: string[] = [];
  return { ...nginxStatus(detection(include, upstream), FILES, [8080, 8081], notes), notes };
}

test('a port in the include: that port, its release, whether it listens', () => {
  expect(status(text('set $service_url http://localhost:8080/;\n'))).toEqual({
    include: INC,
    upstream: UP,
    port: 8080,
    via: 'include',
    release: 'r1',
    listening: true,
    notes: [],
  });
  expect(status(text('set $service_url 127.0.0.1:9000;\n'))).toEqual({
    include: INC,
    upstream: UP,
    port: 9000,
    via: 'include',
    listening: false,
    notes: [],
  });
});

test('our upstream group: its primary, and its backup during a bake window', () => {
  const include = text(`set $service_url http://${GROUP};\n`);
  expect(status(include, text(upstreamText(GROUP, { primary: 8080 })))).toEqual({
    include: INC,
    upstream: UP,
    port: 8080,
    via: 'upstream',
    release: 'r1',
    listening: true,
    notes: [],
  });
  expect(status(include, text(upstreamText(GROUP, { primary: 8081, backup: 8080 })))).toEqual({
    include: INC,
    upstream: UP,
    port: 8081,
    backup: 8080,
    via: 'upstream',
    listening: false,
    notes: [],
  });
});

test('what the deploy would stop at is a problem named, never a guess', () => {
  const problem = (include: FileRead, upstream?: FileRead) => {
    const s = status(include, upstream);
    expect(s.port).toBeUndefined();
    return s.problem;
  };
  const viaGroup = text(`set $service_url http://${GROUP};\n`);
  expect(problem({ state: 'missing' })).toBe(`${INC} does not exist`);
  expect(problem({ state: 'unreadable' })).toBe(`${INC} exists but the deploy user cannot read it`);
  expect(problem({ state: 'notText' })).toBe(`${INC} is not UTF-8 text`);
  expect(problem(text('# nothing yet\n\n'))).toBe(`${INC} has no set $service_url line`);
  expect(problem(text('set $service_url http://a:1;\nset $service_url http://a:2;\n'))).toBe(
    `cannot recognise where ${INC} routes to; the forms understood are: ${UNDERSTOOD_FORMS}`,
  );
  expect(problem(text('set $service_url http://bluegreen_other;\n'))).toBe(
    `the include routes to upstream bluegreen_other, but this include's group is ${GROUP}`,
  );
  expect(problem(viaGroup)).toBe(`the include routes to upstream ${GROUP}, but ${UP} does not exist`);
  expect(problem(viaGroup, { state: 'unreadable' })).toBe(
    `the include routes to upstream ${GROUP}, but ${UP} exists but the deploy user cannot read it`,
  );
  expect(problem(viaGroup, text('upstream x { server 127.0.0.1:8080; }\n'))).toBe(
    `the include routes to upstream ${GROUP}, but ${UP} is not as this action wrote it`,
  );
});

test('an upstream file not as we wrote it beside an include that does not use it: a note (a deploy would stop)', () => {
  const odd = text('upstream x {}\n');
  const note = `${UP} is not as this action wrote it (upstream ${GROUP}): a deploy stops until it is put back or removed`;
  expect(status(text('set $service_url http://127.0.0.1:8080;\n'), odd).notes).toEqual([note]);
  expect(status({ state: 'missing' }, odd).notes).toEqual([note]);
  // Where the include uses the group, the problem says it once.
  expect(status(text(`set $service_url http://${GROUP};\n`), odd).notes).toEqual([]);
  expect(
    status(text('set $service_url http://127.0.0.1:8080;\n'), text(upstreamText(GROUP, { primary: 1 })))
      .notes,
  ).toEqual([]);
});
