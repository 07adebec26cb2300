// How the harness names what it creates, so that a later run can find (and remove) what a killed run left.
import path from 'node:path';

/** Target dirs are /tmp/bgd-target-XXXXXX. Not os.tmpdir(): a TMPDIR the deploy user cannot traverse would break the target. */
export const TMP_ROOT = '/tmp';
export const DIR_PREFIX = 'bgd-target-';
export const SUDOERS_DIR = '/etc/sudoers.d';

/** The sudoers file of a target dir: /etc/sudoers.d/bgd-<basename of dir>. */
export function sudoersFileFor(dir: string): string {
  return path.join(SUDOERS_DIR, `bgd-${path.basename(dir)}`);
}

/** The target dir a sudoers file or a namespace name belongs to. */
export function targetDirOf(name: string): string {
  return path.join(TMP_ROOT, name.replace(/^bgd-(?=bgd-target-)/, ''));
}

/** The veth pair of a namespace named bgd-target-XXXXXX (interface names: 15 characters at most). */
export function vethNames(ns: string): { host: string; ns: string } {
  const suffix = ns.slice(DIR_PREFIX.length);
  return { host: `bgd${suffix}h`, ns: `bgd${suffix}n` };
}
