// What one colour's app gets: its launch words, env, health URL; and the secret values the log must not show.
import { envFor, healthUrl, launchWords, secretValues } from '../src/per-port.js';

const ports = { bluePort: 8080, greenPort: 8081 };

describe('per port', () => {
  const s = {
    ...ports,
    javaOpts: ['-Djmx={port+2000}'],
    portArg: ['--server.port={port}'],
    appArgs: ['--name={color}'],
    env: [['LOG', '/logs/{color}-{port}.log']] as [string, string][],
    secretEnv: [['PW', 'pw-{color}']] as [string, string][],
    healthPath: '/health/{color}',
  };

  test('launch words, env and health URL for each colour', () => {
    expect(launchWords(s, 8080)).toEqual({
      javaOpts: ['-Djmx=10080'],
      portArg: ['--server.port=8080'],
      appArgs: ['--name=blue'],
    });
    expect(envFor(s, 8081)).toEqual([
      ['LOG', '/logs/green-8081.log'],
      ['PW', 'pw-green'],
    ]);
    expect(healthUrl(s, 8081)).toBe('http://127.0.0.1:8081/health/green');
    expect(healthUrl({ ...s, healthPort: '{port+1000}' }, 8080)).toBe('http://127.0.0.1:9080/health/blue');
    expect(healthUrl({ ...s, healthPort: '9{port-8000}' }, 8081)).toBe('http://127.0.0.1:981/health/green');
  });

  test('secret values: as given and for each colour, once each, never empty', () => {
    const secretEnv: [string, string][] = [
      ['A', 'pw-{color}'],
      ['B', 'same'],
      ['C', ''],
      ['D', 'same'],
    ];
    expect(secretValues({ ...ports, secretEnv })).toEqual(['pw-{color}', 'pw-blue', 'pw-green', 'same']);
  });
});
