// The jar to deploy (one file matched by the `jar` glob), its sha256, and the release id that names its folder.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as glob from '@actions/glob';
import { utcStamp } from '../history.js';
import type { Checker } from './checker.js';

/** The whole id: letters, digits, `.`, `_`, `-`, not starting with `.` (so never `..` or a path). */
const RELEASE_ID = /^[A-Za-z0-9._-]+$/;

export async function resolveJar(c: Checker, pattern: string): Promise<string | undefined> {
  const globber = await glob.create(pattern, { matchDirectories: false, implicitDescendants: false });
  const files = await globber.glob();
  if (files.length === 1) return files[0];
  if (files.length === 0) {
    c.fail('jar', `"${pattern}" matches no file (did the build step run?)`);
  } else {
    c.fail(
      'jar',
      `"${pattern}" matches ${files.length} files; it must match exactly one: ${files.join(', ')}`,
    );
  }
  return undefined;
}

export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const content = await readFile(path);
  return { sha256: createHash('sha256').update(content).digest('hex'), bytes: content.length };
}

/** A sortable, unique-enough release id: UTC time plus the jar's content hash. */
export function makeReleaseId(now: Date, sha256: string): string {
  return `${utcStamp(now)}-${sha256.slice(0, 12)}`;
}

/** What is wrong with a release id (it becomes a folder name under releases/), or undefined. */
export function releaseIdProblem(releaseId: string): string | undefined {
  if (RELEASE_ID.test(releaseId) && !releaseId.startsWith('.')) return undefined;
  return `release-id: must be letters, digits, ".", "_" or "-", got "${releaseId}"`;
}
