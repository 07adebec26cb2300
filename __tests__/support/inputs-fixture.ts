// The inputs of a valid run (a key, its known_hosts line, one jar), for the readSettings suites: each test
// overrides the inputs it is about and reads the Settings, or the whole list of problems.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings, SettingsError, type Settings } from '../../src/inputs.js';

export interface InputsFixture {
  dir: string;
  key: string;
  encryptedKey: string;
  /** `[203.0.113.5]:2222 ssh-ed25519 ...`: the known_hosts line of `key`'s public half. */
  knownHosts: string;
  /** `SHA256:...` of the same public key, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  jar: string;
  settings(values: Record<string, string>): Promise<Settings>;
  problems(values: Record<string, string>): Promise<string[]>;
  cleanup(): void;
}

export function inputsFixture(): InputsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'bgd-inputs-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-f', join(dir, 'enc')]);
  const key = readFileSync(join(dir, 'key'), 'utf8');
  const pub = readFileSync(join(dir, 'key.pub'), 'utf8').split(' ');
  const fingerprint = execFileSync('ssh-keygen', ['-lf', join(dir, 'key.pub')], { encoding: 'utf8' }).split(
    ' ',
  )[1];
  mkdirSync(join(dir, 'libs'));
  const jar = join(dir, 'libs', 'app-1.0.jar');
  writeFileSync(jar, 'not really a jar');
  const f: InputsFixture = {
    dir,
    key,
    encryptedKey: readFileSync(join(dir, 'enc'), 'utf8'),
    knownHosts: `[203.0.113.5]:2222 ${pub[0]} ${pub[1]}`,
    fingerprint,
    jar,
    settings: (values) => {
      const all: Record<string, string> = {
        host: '203.0.113.5',
        port: '2222',
        username: 'deploy',
        'private-key': key,
        'known-hosts': f.knownHosts,
        jar,
        ...values,
      };
      return readSettings((name) => all[name] ?? '');
    },
    problems: async (values) => {
      try {
        await f.settings(values);
      } catch (error) {
        if (error instanceof SettingsError) return error.problems;
        throw error;
      }
      return [];
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return f;
}
