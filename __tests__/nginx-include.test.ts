// The include as the user wrote it: only the port of the one `set $service_url` line changes.
import {
  freshInclude,
  isBlank,
  parseInclude,
  switchedText,
  UNDERSTOOD_FORMS,
  withPort,
} from '../src/nginx-include.js';

test.each([
  ['set $service_url http://127.0.0.1:8080;\n', 'set $service_url http://127.0.0.1:9002;\n'],
  ['set $service_url http://localhost:8080/;\n', 'set $service_url http://localhost:9002/;\n'],
  [
    '  set   $service_url  "http://127.0.0.1:8080";   # blue\n',
    '  set   $service_url  "http://127.0.0.1:9002";   # blue\n',
  ],
  ["set $service_url 'https://app.internal:8443/api';", "set $service_url 'https://app.internal:9002/api';"],
  ['set $service_url 127.0.0.1:8080;\n', 'set $service_url 127.0.0.1:9002;\n'],
  ['set $service_url http://[::1]:8080;\r\n', 'set $service_url http://[::1]:9002;\r\n'],
  [
    '# managed by hand\nset $service_url http://127.0.0.1:8080;\nset $other 1;\n',
    '# managed by hand\nset $service_url http://127.0.0.1:9002;\nset $other 1;\n',
  ],
  ['set $service_url http://127.0.0.1:8080;', 'set $service_url http://127.0.0.1:9002;'],
])('%j: only the port changes', (text, switched) => {
  const target = parseInclude(text);
  expect(target?.port).toBe(8080 + (text.includes('8443') ? 363 : 0));
  if (!target) throw new Error('not parsed');
  expect(withPort(target, 9002)).toBe(switched);
  expect(switchedText(target, 9002)).toBe(switched);
  expect(withPort(target, target.port ?? 0)).toBe(text); // nothing else moved
});

test.each([
  ['no set line', 'proxy_pass http://127.0.0.1:8080;\n'],
  ['a commented-out line', '# set $service_url http://127.0.0.1:8080;\n'],
  ['an upstream name not ours', 'set $service_url http://backend;\n'],
  ['a variable', 'set $service_url $target;\n'],
  ['two set lines', 'set $service_url http://a:1;\nset $service_url http://a:2;\n'],
  ['another variable', 'set $service_uri http://127.0.0.1:8080;\n'],
  ['no semicolon', 'set $service_url http://127.0.0.1:8080\n'],
  ['port 0', 'set $service_url http://127.0.0.1:0;\n'],
  ['port 70000', 'set $service_url http://127.0.0.1:70000;\n'],
  ['six digits', 'set $service_url http://127.0.0.1:808080;\n'],
  ['text before set', 'xset $service_url http://127.0.0.1:8080;\n'],
  ['empty', ''],
])('%s: not recognised', (_what, text) => {
  expect(parseInclude(text)).toBeUndefined();
});

test('the lowest and highest ports are recognised', () => {
  expect(parseInclude('set $service_url http://127.0.0.1:1;\n')?.port).toBe(1);
  expect(parseInclude('set $service_url http://127.0.0.1:65535;\n')?.port).toBe(65535);
});

test('an include of an earlier version loses its stale comment on the next switch', () => {
  const legacy =
    '# Written by the blue/green deploy action: release r1 on port 8080\nset $service_url http://127.0.0.1:8080;\n';
  const target = parseInclude(legacy);
  expect(switchedText(target, 8081)).toBe(freshInclude('8081'));
});

test('a first deploy writes the plain form', () => {
  expect(switchedText(undefined, 8080)).toBe(
    '# Written by the blue/green deploy action; it changes only the address below.\nset $service_url http://127.0.0.1:8080;\n',
  );
  expect(parseInclude(freshInclude('8080'))?.port).toBe(8080);
  expect(switchedText(undefined, 'bluegreen_app')).toBe(
    '# Written by the blue/green deploy action; it changes only the address below.\nset $service_url http://bluegreen_app;\n',
  );
  // A group name that ends in digits (include app2.inc) is still a name, not a port.
  expect(switchedText(undefined, 'bluegreen_app2')).toBe(
    '# Written by the blue/green deploy action; it changes only the address below.\nset $service_url http://bluegreen_app2;\n',
  );
});

test('blank: only empty lines and comments', () => {
  expect(isBlank('')).toBe(true);
  expect(isBlank('\n  \n# a comment\n\t# another\n')).toBe(true);
  expect(isBlank('# c\nset $x 1;\n')).toBe(false);
});

test('the error names every form understood', () => {
  expect(UNDERSTOOD_FORMS).toBe(
    'set $service_url http://127.0.0.1:PORT; (any scheme, host or path; quoted or not), set $service_url 127.0.0.1:PORT; used as proxy_pass http://$service_url;, the upstream group the action writes (set $service_url http://bluegreen_NAME;), or one upstream NAME { server 127.0.0.1:PORT …; } block used as proxy_pass http://NAME; (servers on blue-port or green-port at 127.0.0.1, localhost or [::1]; one of them may be a backup)',
  );
});

test('our upstream group: recognised, and migrated to from a port with nothing else changed', () => {
  const target = parseInclude('set $service_url "http://127.0.0.1:8080/";  # app\n');
  expect(switchedText(target, 'bluegreen_service_url')).toBe(
    'set $service_url "http://bluegreen_service_url/";  # app\n',
  );
  const ours = parseInclude('set $service_url http://bluegreen_service_url;\n');
  expect(ours).toEqual({
    before: 'set $service_url http://',
    after: ';\n',
    address: 'bluegreen_service_url',
    upstream: 'bluegreen_service_url',
  });
});
