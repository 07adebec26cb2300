// {port}, {port+N}, {port-N} and {color}: expanded per colour, checked for both colours, escaped with {{.
import { colourOf, expand, expandAll, KNOWN_PLACEHOLDERS, placeholderProblems } from '../src/placeholders.js';

const ports = { bluePort: 8080, greenPort: 8081 };

describe('expand', () => {
  test.each([
    ['--server.port={port}', 8080, '--server.port=8080'],
    ['--server.port={port}', 8081, '--server.port=8081'],
    ['-Djmx={port+2000}', 8081, '-Djmx=10081'],
    ['{port-80}', 8080, '8000'],
    ['{port+0}', 8081, '8081'],
    ['/var/log/app-{color}.log', 8080, '/var/log/app-blue.log'],
    ['/var/log/app-{color}.log', 8081, '/var/log/app-green.log'],
    ['{color}:{port}:{port+1}{port-1}', 8081, 'green:8081:80828080'],
    ['no placeholder', 8080, 'no placeholder'],
    ['', 8080, ''],
    // Braces of another shape are left as they are.
    [
      '{"a":1} { port } {port*2} {9} {} {port+} {port+-1}',
      8080,
      '{"a":1} { port } {port*2} {9} {} {port+} {port+-1}',
    ],
    // {{ escapes one placeholder: a literal {name} (a log pattern's %d{ISO8601}).
    ['%d{{ISO8601} {{port} {{port+1}', 8080, '%d{ISO8601} {port} {port+1}'],
    ['{{{port}', 8080, '{{port}'],
    ['{{ .Values }}', 8080, '{{ .Values }}'],
    // ${...} is the app's own placeholder (Spring, Quarkus, Micronaut, logback): left to it.
    ['jdbc:postgresql://${DB_HOST}:5432/{color}', 8081, 'jdbc:postgresql://${DB_HOST}:5432/green'],
    ['${port} ${port+1} $${x} $ {port}', 8080, '${port} ${port+1} $${x} $ 8080'],
  ])('%j on %i -> %j', (template, port, expected) => {
    expect(expand(template, port, ports)).toBe(expected);
  });

  test('a port of neither colour is a bug, said so', () => {
    expect(() => expand('{port}', 9000, ports)).toThrow(
      new Error('port 9000 is neither blue-port (8080) nor green-port (8081)'),
    );
    expect(colourOf(8080, { bluePort: 9001, greenPort: 8080 })).toBe('green');
    expect(colourOf(9001, { bluePort: 9001, greenPort: 8080 })).toBe('blue');
  });

  test('expandAll: each word on its own', () => {
    expect(expandAll(['-Da={port}', '{color}', 'x'], 8081, ports)).toEqual(['-Da=8081', 'green', 'x']);
  });
});

describe('placeholderProblems', () => {
  test('known placeholders and other braces: none', () => {
    expect(
      placeholderProblems(
        'java-opts',
        '{port}{port+1}{port-8079}{color}{{nope}{"json":1}${PATH}${x+99999}',
        ports,
      ),
    ).toEqual([]);
  });

  test('each unknown one, naming the input and the known ones', () => {
    expect(
      placeholderProblems('app-args', '--x={prot} --y={colour} {PORT} {color+1} {host_1-2}', ports),
    ).toEqual(
      ['{prot}', '{colour}', '{PORT}', '{color+1}', '{host_1-2}'].map(
        (t) =>
          `app-args: unknown placeholder ${t}; known: {port}, {port+N}, {port-N}, {color} (write {{name} for a literal {name})`,
      ),
    );
    expect(KNOWN_PLACEHOLDERS).toBe(
      '{port}, {port+N}, {port-N}, {color} (write {{name} for a literal {name})',
    );
  });

  test('arithmetic out of 1-65535 for either colour, with both results', () => {
    expect(placeholderProblems('java-opts', '{port+57455}', ports)).toEqual([
      'java-opts: {port+57455} gives 65535 for blue (port 8080) and 65536 for green (port 8081); a port must be from 1 to 65535',
    ]);
    expect(placeholderProblems('java-opts', '{port+57454}', ports)).toEqual([]);
    expect(placeholderProblems('env (X)', '{port-8080}', ports)).toEqual([
      'env (X): {port-8080} gives 0 for blue (port 8080) and 1 for green (port 8081); a port must be from 1 to 65535',
    ]);
    expect(placeholderProblems('env (X)', '{port-8079}', ports)).toEqual([]);
    expect(placeholderProblems('health-path', '{port-9000}', { bluePort: 9000, greenPort: 70000 })).toEqual([
      'health-path: {port-9000} gives 0 for blue (port 9000) and 61000 for green (port 70000); a port must be from 1 to 65535',
    ]);
  });
});
