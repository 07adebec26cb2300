// ESM + TypeScript through ts-jest; run with --experimental-vm-modules (see scripts/test.sh).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  testTimeout: 30000,
  // Inline snapshots are written without prettier (jest 29 cannot load prettier 3).
  prettierPath: null,
};
