// The unit project alone, as one jest config, for StrykerJS's jest runner (it does not run jest projects).
// The suites that run scripts in the bubblewrap sandbox or through shellcheck are left out: every token of
// every script is pinned by the builders' inline snapshots, which kill those mutants in milliseconds, while a
// sandbox run per mutant costs seconds (and a mutant that breaks a script waits for the sandbox's timeout).
import { unitProject } from './jest.config.js';

export default {
  ...unitProject,
  testPathIgnorePatterns: [
    ...unitProject.testPathIgnorePatterns,
    '\\.sandbox\\.test\\.ts$',
    '/__tests__/commands/(scripts|stop)\\.test\\.ts$',
    // action.yml and the workflows, checked by a validator binary that the mutation sandbox cannot start.
    '/__tests__/metadata\\.test\\.ts$',
  ],
  testTimeout: 30000,
};
