// The unit project alone, as one jest config, for StrykerJS's jest runner (it does not run jest projects).
import { unitProject } from './jest.config.js';

export default { ...unitProject, testTimeout: 30000 };
