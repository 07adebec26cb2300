// port-arg, health-port and the placeholders of every template input, as readSettings reads them: templates
// kept as written, every problem (unknown placeholder, port out of range, a health-port shared by the colours)
// named with its input, all at once.
import { inputsFixture, type InputsFixture } from './support/inputs-fixture.js';

let f: InputsFixture;
beforeAll(() => {
  f = inputsFixture();
});
afterAll(() => f.cleanup());

const KNOWN = 'known: {port}, {port+N}, {port-N}, {color} (write {{name} for a literal {name})';

test('templates are kept as written; port-arg defaults to --server.port={port}, health-port to none', async () => {
  const s = await f.settings({
    'java-opts': '-Djmx={port+2000} "-Dname={color} x"',
    'app-args': '--management.server.port={port+1000}',
    env: 'LOG=/logs/{color}.log',
    'secret-env': 'PW=pw{port}',
    'health-path': '/health/{color}',
  });
  expect(s).toMatchObject({
    javaOpts: ['-Djmx={port+2000}', '-Dname={color} x'],
    appArgs: ['--management.server.port={port+1000}'],
    portArg: ['--server.port={port}'],
    env: [['LOG', '/logs/{color}.log']],
    secretEnv: [['PW', 'pw{port}']],
    healthPath: '/health/{color}',
  });
  expect(s.healthPort).toBeUndefined();
  expect('healthPort' in s).toBe(false);
});

test('port-arg: words with placeholders, or none (any case) for no argument', async () => {
  expect((await f.settings({ 'port-arg': '-port={port} "--x=a b"' })).portArg).toEqual([
    '-port={port}',
    '--x=a b',
  ]);
  expect((await f.settings({ 'port-arg': 'none' })).portArg).toEqual([]);
  expect((await f.settings({ 'port-arg': ' NONE ' })).portArg).toEqual([]);
  expect((await f.settings({ 'port-arg': '--server.port={port}' })).portArg).toEqual([
    '--server.port={port}',
  ]);
  expect(await f.problems({ 'port-arg': '"--x' })).toEqual([
    `port-arg: unterminated " in: "--x (quote words with ' or ")`,
  ]);
});

test('health-port: relative to the port, or a number plus {port-N}', async () => {
  expect((await f.settings({ 'health-port': '{port+1000}' })).healthPort).toBe('{port+1000}');
  expect((await f.settings({ 'health-port': '{port}' })).healthPort).toBe('{port}');
  expect((await f.settings({ 'health-port': '9{port-8000}' })).healthPort).toBe('9{port-8000}');
});

test('health-port: not a port for a colour, the same port for both, or out of range', async () => {
  expect(await f.problems({ 'health-port': '9090' })).toEqual([
    'health-port: must differ between the colours (both apps run at once during a deploy), e.g. {port+1000}; got "9090"',
  ]);
  expect(await f.problems({ 'health-port': 'mgmt-{port}' })).toEqual([
    `health-port: must be a port, or one relative to the app's port such as {port+1000}; got "mgmt-{port}" (blue: "mgmt-8080", green: "mgmt-8081")`,
  ]);
  expect(await f.problems({ 'health-port': '{port}0' })).toEqual([
    `health-port: must be a port, or one relative to the app's port such as {port+1000}; got "{port}0" (blue: "80800", green: "80810")`,
  ]);
  expect(await f.problems({ 'health-port': '{port+60000}' })).toEqual([
    'health-port: {port+60000} gives 68080 for blue (port 8080) and 68081 for green (port 8081); a port must be from 1 to 65535',
  ]);
  expect(await f.problems({ 'health-port': '{color}' })).toEqual([
    `health-port: must be a port, or one relative to the app's port such as {port+1000}; got "{color}" (blue: "blue", green: "green")`,
  ]);
  expect(await f.problems({ 'health-port': '{mgmt}' })).toEqual([
    `health-port: unknown placeholder {mgmt}; ${KNOWN}`,
  ]);
});

test('every unknown placeholder and every port out of range, each with its input, all at once', async () => {
  const problems = await f.problems({
    'blue-port': '9000',
    'green-port': '9001',
    'java-opts': '-Da={prot} -Db={port+56535}',
    'spring-profiles': 'prod-{region}',
    'app-args': '--c={host} --ok={port}',
    'port-arg': '--server.port={PORT}',
    env: 'A={colour}\nB=fine-{color}',
    'secret-env': 'S={port-9000}',
    'health-path': '/h/{name}',
  });
  expect(problems).toEqual([
    `java-opts: unknown placeholder {prot}; ${KNOWN}`,
    'java-opts: {port+56535} gives 65535 for blue (port 9000) and 65536 for green (port 9001); a port must be from 1 to 65535',
    `spring-profiles: unknown placeholder {region}; ${KNOWN}`,
    `app-args: unknown placeholder {host}; ${KNOWN}`,
    `port-arg: unknown placeholder {PORT}; ${KNOWN}`,
    `env (A): unknown placeholder {colour}; ${KNOWN}`,
    'secret-env (S): {port-9000} gives 0 for blue (port 9000) and 1 for green (port 9001); a port must be from 1 to 65535',
    `health-path: unknown placeholder {name}; ${KNOWN}`,
  ]);
});

test('without spring-profiles the first app-arg is named app-args', async () => {
  expect(await f.problems({ 'app-args': '--a={x}' })).toEqual([
    `app-args: unknown placeholder {x}; ${KNOWN}`,
  ]);
});

test("braces of another shape, escaped ones and the app's own ${name} are accepted as they are", async () => {
  const s = await f.settings({
    env: 'JSON={"a":{"b":1}}\nPATTERN=%d{{ISO8601} %m\nURL=jdbc:postgresql://${DB_HOST}/x',
    'app-args': '--logging.file.name=${LOG_PATH}/app.log',
  });
  expect(s.env).toEqual([
    ['JSON', '{"a":{"b":1}}'],
    ['PATTERN', '%d{{ISO8601} %m'],
    ['URL', 'jdbc:postgresql://${DB_HOST}/x'],
  ]);
  expect(s.appArgs).toEqual(['--logging.file.name=${LOG_PATH}/app.log']);
});
