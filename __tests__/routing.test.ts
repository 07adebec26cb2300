// What each routing change writes: the include's address, our upstream group with the old app as backup during
// the bake window, and the exact previous bytes on a switch back.
import { defaultUpstreamFile, parseUpstream, upstreamName, upstreamText } from '../src/nginx-upstream.js';
import { parseInclude } from '../src/nginx-include.js';
import type { PortPlan } from '../src/plan.js';
import { bakeEndChanges, switchBackChanges, switchChanges } from '../src/steps/routing.js';

const INC = '/etc/nginx/conf.d/service-url.inc';
const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';
const PORT_FORM = 'set $service_url http://127.0.0.1:8080;\n';
const GROUP = (primary: number, backup?: number) =>
  upstreamText('bluegreen_service_url', { primary, backup });
const UPSTREAM_FORM = 'set $service_url http://bluegreen_service_url;\n';

function plan(
  include: string | undefined,
  upstream: string | undefined,
  live: number | undefined,
  idle: number,
): PortPlan {
  return {
    live,
    idle,
    notes: [],
    routing: {
      include: {
        path: INC,
        text: include,
        target: include === undefined ? undefined : parseInclude(include),
      },
      upstream: {
        path: UP,
        name: 'bluegreen_service_url',
        text: upstream,
        servers: upstream === undefined ? undefined : parseUpstream(upstream, 'bluegreen_service_url'),
      },
    },
  };
}

test('names and default file follow the include', () => {
  expect(upstreamName(INC)).toBe('bluegreen_service_url');
  expect(upstreamName('/etc/nginx/snippets/my.app-v2.inc')).toBe('bluegreen_my_app_v2');
  expect(defaultUpstreamFile(INC)).toBe(UP);
  expect(defaultUpstreamFile('/etc/nginx/snippets/shop')).toBe('/etc/nginx/snippets/bluegreen-shop.conf');
  expect(defaultUpstreamFile('/etc/nginx/snippets/my.app-v2.inc')).toBe(
    '/etc/nginx/snippets/bluegreen-my.app-v2.conf',
  );
});

test('the upstream text, and only that exact text is read back', () => {
  expect(GROUP(8081, 8080)).toBe(
    '# Written by the blue/green deploy action: where the include sends the traffic. Do not edit.\n' +
      'upstream bluegreen_service_url {\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8080 backup;\n}\n',
  );
  expect(parseUpstream(GROUP(8081, 8080), 'bluegreen_service_url')).toEqual({ primary: 8081, backup: 8080 });
  expect(GROUP(8081)).toBe(
    '# Written by the blue/green deploy action: where the include sends the traffic. Do not edit.\n' +
      'upstream bluegreen_service_url {\n    server 127.0.0.1:8081;\n}\n',
  );
  expect(parseUpstream(GROUP(8081), 'bluegreen_service_url')).toStrictEqual({ primary: 8081 });
  expect(parseUpstream(GROUP(8081), 'bluegreen_other')).toBeUndefined();
  expect(
    parseUpstream(GROUP(8081).replace('8081;', '8081 weight=2;'), 'bluegreen_service_url'),
  ).toBeUndefined();
  expect(parseUpstream('', 'bluegreen_service_url')).toBeUndefined();
});

test('no bake window, the port form: only the include, only its port', () => {
  expect(switchChanges(plan(PORT_FORM, undefined, 8080, 8081), false)).toEqual([
    { path: INC, content: 'set $service_url http://127.0.0.1:8081;\n', expected: PORT_FORM },
  ]);
});

test('a bake window migrates the include to our group, the old app as backup', () => {
  expect(switchChanges(plan(PORT_FORM, undefined, 8080, 8081), true)).toEqual([
    { path: UP, content: GROUP(8081, 8080), expected: undefined, mustLoad: true },
    { path: INC, content: UPSTREAM_FORM, expected: PORT_FORM },
  ]);
});

test('already migrated: only the group changes', () => {
  const p = plan(UPSTREAM_FORM, GROUP(8080), 8080, 8081);
  expect(switchChanges(p, true)).toEqual([
    { path: UP, content: GROUP(8081, 8080), expected: GROUP(8080), mustLoad: true },
  ]);
  expect(switchChanges(p, false)).toEqual([
    { path: UP, content: GROUP(8081), expected: GROUP(8080), mustLoad: true },
  ]);
});

test('after the bake window the backup goes; a first deploy has none to drop', () => {
  expect(bakeEndChanges(plan(UPSTREAM_FORM, GROUP(8080), 8080, 8081))).toEqual([
    { path: UP, content: GROUP(8081), expected: GROUP(8081, 8080) },
  ]);
  expect(bakeEndChanges(plan(undefined, undefined, undefined, 8080))).toEqual([]);
});

test("a group file that already held the window's servers: the backup goes from what the file holds", () => {
  // The include still in the port form: the switch rewrites only the include, not the group.
  const p = plan(PORT_FORM, GROUP(8081, 8080), 8080, 8081);
  expect(switchChanges(p, true)).toEqual([{ path: INC, content: UPSTREAM_FORM, expected: PORT_FORM }]);
  expect(bakeEndChanges(p)).toEqual([{ path: UP, content: GROUP(8081), expected: GROUP(8081, 8080) }]);
});

test('a first deploy with a bake window writes both files fresh', () => {
  expect(switchChanges(plan(undefined, undefined, undefined, 8080), true)).toEqual([
    { path: UP, content: GROUP(8080), expected: undefined, mustLoad: true },
    {
      path: INC,
      content:
        '# Written by the blue/green deploy action; it changes only the address below.\nset $service_url http://bluegreen_service_url;\n',
      expected: undefined,
    },
  ]);
});

test('a switch back puts both files back exactly, removing a group that did not exist', () => {
  expect(switchBackChanges(plan(PORT_FORM, undefined, 8080, 8081), true)).toEqual([
    { path: UP, content: undefined, expected: GROUP(8081, 8080) },
    { path: INC, content: PORT_FORM, expected: UPSTREAM_FORM },
  ]);
  expect(switchBackChanges(plan(PORT_FORM, undefined, 8080, 8081), false)).toEqual([
    { path: INC, content: PORT_FORM, expected: 'set $service_url http://127.0.0.1:8081;\n' },
  ]);
});
