// action.yml, the workflows and the README agree with the code, checked by @action-validator/cli.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8'));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const validator = join(root, 'node_modules/.bin/action-validator');

function validate(file: string) {
  return spawnSync(validator, [file], { encoding: 'utf8' });
}

test('action.yml is valid metadata and runs dist/index.js on node24', () => {
  expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) });
  // The validator's schema predates node24: check everything else with the runtime swapped for node20.
  const dir = mkdtempSync(join(tmpdir(), 'bgd-meta-'));
  try {
    const copy = join(dir, 'action.yml');
    writeFileSync(
      copy,
      readFileSync(join(root, 'action.yml'), 'utf8').replace(/using: 'node24'/, "using: 'node20'"),
    );
    const r = validate(copy);
    expect(`${r.status} ${r.stdout}`).toBe('0 ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const workflows = [
  ...readdirSync(join(root, '.github/workflows')).map((f) => join('.github/workflows', f)),
  ...readdirSync(join(root, 'docs/examples')).map((f) => join('docs/examples', f)),
];
test.each(workflows)('%s is a valid workflow', (file) => {
  const r = validate(join(root, file));
  expect(`${r.status} ${r.stdout}`).toBe('0 ');
});

test('every input has a description, is read by src/inputs.ts and documented in the README', () => {
  const source = readFileSync(join(root, 'src/inputs.ts'), 'utf8');
  for (const [name, spec] of Object.entries<{ description?: string }>(action.inputs)) {
    expect({ name, described: Boolean(spec.description) }).toEqual({ name, described: true });
    expect({ name, read: source.includes(`'${name}'`) }).toEqual({ name, read: true });
    expect({ name, documented: readme.includes(`\`${name}\``) }).toEqual({ name, documented: true });
  }
});

test('every output is set by src/main.ts and documented in the README', () => {
  const main = readFileSync(join(root, 'src/main.ts'), 'utf8');
  const set = [...main.matchAll(/setOutput\(\s*'([a-z-]+)'/g)].map((m) => m[1]).sort();
  expect(set).toEqual(Object.keys(action.outputs).sort());
  for (const name of set)
    expect({ name, documented: readme.includes(`\`${name}\``) }).toEqual({ name, documented: true });
});

test('the repository shell scripts pass shellcheck', () => {
  const scripts = [
    '.ci/run',
    ...readdirSync(join(root, 'scripts'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => `scripts/${f}`),
    ...readdirSync(join(root, 'bench'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => `bench/${f}`),
  ];
  const r = spawnSync('shellcheck', scripts, { cwd: root, encoding: 'utf8' });
  expect(`${r.status} ${r.stdout}`).toBe('0 ');
});
