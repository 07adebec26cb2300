// The login users of the targets (deploy, root, the bastion's jumper) and the deploy user's narrow sudoers file.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, execOk, readQuiet } from './exec.js';
import { DIR_PREFIX, SUDOERS_DIR, sudoersFileFor, targetDirOf } from './naming.js';

export type LoginUser = 'deploy' | 'root' | 'jumper';

export interface Account {
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The /etc/passwd entry of user, or null. */
export function passwdEntry(user: string): Account | null {
  const line = readQuiet('/etc/passwd')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

/** The deploy user's account (it exists once any target has started). */
export function deployAccount(): Account {
  const entry = passwdEntry('deploy');
  if (!entry) throw new Error('no deploy user: start a target first');
  return entry;
}

function shadowPassword(user: string): string | null {
  const line = readQuiet('/etc/shadow')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return line ? line.split(':')[1] : null;
}

const locked = (user: string) => (shadowPassword(user) ?? '!').startsWith('!');

/** One attempt at creating and unlocking user; returns the account or the error text. */
async function tryEnsure(user: string): Promise<Account | string> {
  if (!passwdEntry(user)) {
    const r = await exec('useradd', ['-m', '-s', '/bin/bash', user]);
    if (!passwdEntry(user)) return r.stderr; // probably /etc/passwd was locked by a concurrent useradd
  }
  if (locked(user)) {
    const r = await exec('usermod', ['-p', '*', user]);
    if (r.code !== 0) return r.stderr;
  }
  return passwdEntry(user) ?? 'not in /etc/passwd';
}

/**
 * Makes sure the login user exists and is not locked (sshd refuses even key logins for a password field starting
 * with '!'). Safe when several targets start at once.
 */
export async function ensureUser(user: LoginUser): Promise<Account> {
  if (user === 'root') {
    if ((shadowPassword('root') ?? '').startsWith('!')) {
      throw new Error("root's password field is locked ('!'): sshd would refuse root key logins");
    }
    return passwdEntry('root') as Account;
  }
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await tryEnsure(user);
    if (typeof r !== 'string' && !locked(user)) return r;
    if (typeof r === 'string') last = r;
    await sleep(100); // a concurrent useradd/usermod holds the lock on /etc/passwd: try again
  }
  throw new Error(`could not create/unlock user ${user}: ${last}`);
}

/**
 * Installs the sudoers line as /etc/sudoers.d/bgd-<basename of dir>, validated with visudo first, and checks that
 * sudo shows it for deploy. Returns the file.
 */
export async function installSudoers(dir: string, line: string, mustMention: string): Promise<string> {
  const file = sudoersFileFor(dir);
  const tmpCheck = path.join(dir, 'sudoers.check');
  fs.writeFileSync(tmpCheck, `${line}\n`, { mode: 0o440 });
  await execOk('visudo', ['-c', '-q', '-f', tmpCheck]);
  // A name with a dot is ignored by sudo's @includedir, so the half-written file is never read.
  const staging = path.join(SUDOERS_DIR, `.${path.basename(file)}.tmp`);
  fs.copyFileSync(tmpCheck, staging);
  fs.chownSync(staging, 0, 0);
  fs.chmodSync(staging, 0o440);
  fs.renameSync(staging, file);
  fs.rmSync(tmpCheck, { force: true });
  const r = await exec('sudo', ['-n', '-l', '-U', 'deploy']);
  if (r.code !== 0 || !r.stdout.includes(mustMention)) {
    throw new Error(`sudo -n -l -U deploy does not show the target's rules:\n${r.stdout}${r.stderr}`);
  }
  return file;
}

/** Removes sudoers files left by earlier runs whose target directory no longer exists. */
export function removeStaleSudoers(): void {
  let names: string[];
  try {
    names = fs.readdirSync(SUDOERS_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(`bgd-${DIR_PREFIX}`) && !fs.existsSync(targetDirOf(name))) {
      fs.rmSync(path.join(SUDOERS_DIR, name), { force: true });
    }
  }
}
