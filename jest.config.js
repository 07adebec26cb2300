// ESM + TypeScript through ts-jest; run with --experimental-vm-modules (see scripts/test.sh).
//
// Two projects:
// - `unit`: everything that runs without root and without sshd, nginx or a JVM (`npm run test:unit`).
//   A new suite is a unit suite unless it is listed below.
// - `integration`: the suites that boot real sshd, nginx and JVMs on 127.0.0.1 as root
//   (`npm run test:integration`, one file at a time).
// `npm test` runs both.

/** Suites that need root, sshd, nginx or a JVM: the loopback test target (test-target/), or a private sshd. */
export const integrationSuites = [
  'any-app',
  'booted-host',
  'concurrency',
  'e2e',
  'fleet',
  'faults',
  'harness',
  'preflight-mode',
  'host-key-sshd',
  'jump-host',
  'multi-host',
  'nginx-layouts',
  'no-forwarding',
  'operate',
  'inputs-before-connect',
  'security',
  'stays-up',
  'stays-up-faults',
  'transport',
  'status-mode',
  'supervision',
  'zero-downtime',
];

const integrationPaths = integrationSuites.map((name) => `<rootDir>/__tests__/${name}\\.test\\.ts$`);

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  // Inline snapshots are written without prettier (jest 29 cannot load prettier 3).
  prettierPath: null,
};

/** The unit suites as one jest config (e.g. for StrykerJS's jest runner: `jest: { config: unitProject }`). */
/** @type {import('jest').Config} */
export const unitProject = {
  ...shared,
  displayName: 'unit',
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...integrationPaths],
};

/** @type {import('jest').Config} */
export const integrationProject = {
  ...shared,
  displayName: 'integration',
  testMatch: integrationSuites.map((name) => `<rootDir>/__tests__/${name}.test.ts`),
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30000,
  projects: [unitProject, integrationProject],
};
