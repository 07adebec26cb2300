// ssh2 reads a bare `__dirname`, which an ESM bundle does not define; this module is imported first.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const g = globalThis as { __dirname?: string };
g.__dirname ??= dirname(fileURLToPath(import.meta.url));
