// The action's inputs, read and validated (src/inputs/): the Settings type (settings.ts), the checks of single
// inputs (checker.ts), the connection inputs (connection.ts), the jar and release id (release.ts), and
// readSettings, which reads them all (read.ts).
export { parseHosts } from './inputs/connection.js';
export { readSettings } from './inputs/read.js';
export { makeReleaseId } from './inputs/release.js';
export {
  SettingsError,
  type HostTarget,
  type InputReader,
  type JumpHost,
  type ReloadMode,
  type Settings,
  type SudoMode,
  type Supervisor,
} from './inputs/settings.js';
