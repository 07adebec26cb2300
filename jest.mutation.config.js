// The unit suites StrykerJS runs, one area of src/ at a time (MUTATION_AREA, see stryker.config.mjs): each
// mutant then loads only the suites of its own area. The suites that run scripts in the bubblewrap sandbox or
// through shellcheck are left out: every token of every script is pinned by the builders' inline snapshots,
// which kill those mutants in milliseconds, where a sandbox run costs seconds per mutant.
import { unitProject } from './jest.config.js';

const SUITES = {
  commands: ['commands/(?!scripts|stop)[a-z-]+'],
  steps: [
    'deploy',
    'steps/[a-z-]+',
    'plan',
    'health',
    'rollout',
    'rollback',
    'fleet-rollback',
    'report',
    'report-modes',
    'main',
    'routing',
    'nginx-include',
    'nginx-block',
    'plan-layouts',
    'supervise',
    'remote',
    'layout',
  ],
  operate: [
    'history',
    'commands/history',
    'steps/(choose|record)',
    'deploy',
    'rollback',
    'rollout',
    'fleet-rollback',
    'report-modes',
    'status',
    'status-nginx',
    'plan-layouts',
    'status-markdown',
    'status-script',
    'preflight',
    'preflight-probe',
    'preflight-checks',
  ],
  inputs: [
    'inputs',
    'inputs-modes',
    'inputs-values',
    'inputs-connection',
    'inputs-per-port',
    'placeholders',
    'per-port',
    'steps/per-port',
    'shell',
    'host-key',
    'host-key-verify',
    'host-key-probe',
    'framing',
  ],
};

const area = process.env.MUTATION_AREA ?? '';
const suites = SUITES[area];
if (!suites) throw new Error(`MUTATION_AREA must be one of ${Object.keys(SUITES).join(', ')}, not "${area}"`);

export default {
  ...unitProject,
  testMatch: undefined,
  testRegex: `/__tests__/(${suites.join('|')})\\.test\\.ts$`,
  testPathIgnorePatterns: ['/node_modules/', '\\.sandbox\\.test\\.ts$'],
  testTimeout: 30000,
};
