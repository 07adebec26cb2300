// StrykerJS over src/, one area at a time (MUTATION_AREA; scripts/mutation.mjs runs them all and adds them up).
// Not mutated: the SSH transport (src/ssh/ but the framing, src/ssh.ts), which is exercised against a real
// sshd by the integration suites only (no unit test double of ssh2, by design), and the two entry files.
const AREAS = {
  commands: [
    'src/commands/**/*.ts',
    '!src/commands/history.ts',
    '!src/commands/status.ts',
    '!src/commands/preflight.ts',
  ],
  steps: [
    'src/deploy.ts',
    'src/steps/**/*.ts',
    '!src/steps/choose.ts',
    '!src/steps/record.ts',
    'src/plan.ts',
    'src/health.ts',
    'src/rollout.ts',
    'src/report.ts',
    'src/summary.ts',
    'src/log.ts',
    'src/remote.ts',
    'src/main.ts',
    'src/layout.ts',
    'src/nginx-include.ts',
    'src/nginx-upstream.ts',
    'src/nginx-block.ts',
    'src/nginx-layout.ts',
  ],
  // Operate from a workflow (issue 9): rollback, history, fleets, status, preflight.
  operate: [
    'src/history.ts',
    'src/fleet.ts',
    'src/steps/choose.ts',
    'src/steps/record.ts',
    'src/commands/history.ts',
    'src/status.ts',
    'src/status-nginx.ts',
    'src/status-markdown.ts',
    'src/commands/status.ts',
    'src/preflight.ts',
    'src/preflight-checks.ts',
    'src/preflight-sudo.ts',
    'src/preflight-plan.ts',
    'src/commands/preflight.ts',
  ],
  inputs: [
    'src/inputs.ts',
    'src/inputs/**/*.ts',
    'src/placeholders.ts',
    'src/per-port.ts',
    'src/shell.ts',
    'src/host-key.ts',
    'src/host-key/**/*.ts',
    'src/ssh/framing.ts',
  ],
};

const area = process.env.MUTATION_AREA ?? '';
if (!AREAS[area]) throw new Error(`MUTATION_AREA must be one of ${Object.keys(AREAS).join(', ')}`);

export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  mutate: AREAS[area],
  ignoreStatic: true,
  ignorePatterns: ['.test-output', 'dist', 'coverage', 'reports', '.stryker-tmp*', 'build'],
  concurrency: 2,
  timeoutMS: 5000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${area}.html` },
  jsonReporter: { fileName: `reports/mutation/${area}.json` },
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${area}.json`,
  tempDirName: `.stryker-tmp-${area}`,
  cleanTempDir: 'always',
};
