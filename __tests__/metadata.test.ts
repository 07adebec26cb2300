// action.yml, the workflows and the README agree with the code, checked by @action-validator/cli.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

interface ActionMetadata {
  runs: unknown;
  branding: { icon?: unknown; color?: unknown };
  inputs: Record<string, { description?: string }>;
  outputs: Record<string, unknown>;
}

interface Workflow {
  on: {
    push?: { tags?: string[] };
    workflow_dispatch?: { inputs?: Record<string, { required?: boolean }> };
  };
  jobs: Record<string, { needs?: string | string[]; steps: { uses?: string; run?: string }[] }>;
}

interface DependabotConfig {
  version: number;
  updates: { 'package-ecosystem': string; schedule: object; groups: Record<string, unknown> }[];
}

// (jest's ESM runtime does not set import.meta.dirname)
const root = fileURLToPath(new URL('..', import.meta.url));

function readYaml(file: string): unknown {
  return parse(readFileSync(join(root, file), 'utf8'));
}

const action = readYaml('action.yml') as ActionMetadata;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const validator = join(root, 'node_modules/.bin/action-validator');

function validate(file: string) {
  return spawnSync(validator, [file], { encoding: 'utf8' });
}

test('action.yml is valid metadata and runs dist/index.js on node24', () => {
  expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  expect(Object.keys(action.branding).sort()).toEqual(['color', 'icon']);
  expect([typeof action.branding.icon, typeof action.branding.color]).toEqual(['string', 'string']);
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

test.each(workflows.filter((f) => f.startsWith('.github/')))(
  '%s pins every action by full commit sha, with its version in a comment',
  (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(.*)$/gm)].map((m) => m[1].trim());
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) {
      const local = use.startsWith('./');
      expect({ use, pinned: local || /^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.test(use) }).toEqual(
        {
          use,
          pinned: true,
        },
      );
    }
  },
);

test('the workflows include CI (unit, then integration) and a release that moves the major tag', () => {
  const ci = readYaml('.github/workflows/ci.yml') as Workflow;
  expect(Object.keys(ci.jobs)).toEqual(['unit', 'integration']);
  expect(ci.jobs.integration.needs).toBe('unit');
  const unitSteps = ci.jobs.unit.steps.map((s) => s.run ?? '');
  expect(unitSteps).toEqual(
    expect.arrayContaining(['npm ci --ignore-scripts', 'npm run build', 'npm run lint', 'npm run test:unit']),
  );
  const release = readYaml('.github/workflows/release.yml') as Workflow;
  expect(release.on.push?.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
  expect(release.on.workflow_dispatch?.inputs?.version.required).toBe(true);
  const script = release.jobs.release.steps.map((s) => s.run ?? '').join('\n');
  expect(script).toContain('git status --porcelain -- dist');
  expect(script).toContain('gh release create "$VERSION"');
  expect(script).toContain('git push --force origin "refs/tags/$major"');
});

test('dependabot updates npm packages and actions weekly, grouped', () => {
  const config = readYaml('.github/dependabot.yml') as DependabotConfig;
  expect(config.version).toBe(2);
  const updates = config.updates;
  expect(updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
  for (const u of updates) {
    expect(u.schedule).toEqual({ interval: 'weekly' });
    expect(Object.keys(u.groups)).toHaveLength(1);
  }
});

test('every input has a description, is read by src/inputs/ and documented in the README', () => {
  const source = readdirSync(join(root, 'src/inputs'))
    .map((f) => readFileSync(join(root, 'src/inputs', f), 'utf8'))
    .join('\n');
  for (const [name, spec] of Object.entries(action.inputs)) {
    expect({ name, described: Boolean(spec.description) }).toEqual({ name, described: true });
    expect({ name, read: source.includes(`'${name}'`) }).toEqual({ name, read: true });
    expect({ name, documented: readme.includes(`\`${name}\``) }).toEqual({ name, documented: true });
  }
});

test('every output is set in src/ and documented in the README', () => {
  const source = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(root, 'src', f), 'utf8'))
    .join('\n');
  const set = [...new Set([...source.matchAll(/setOutput\(\s*'([a-z-]+)'/g)].map((m) => m[1]))].sort();
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
