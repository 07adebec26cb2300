// The root file system of a booted host: a copy-on-write overlay of the machine's own / (lowerdir=/), whose
// upper layer this module fills before the first boot: units masked, hostname, machine-id, ssh host keys of its
// own, the sshd and journald settings; then, in a chroot on the overlay, the login user, its key, the sudoers
// file, linger, and nginx as the README's quick start sets it up. Nothing of this touches the machine's files.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execOk, readQuiet, SYS_PATH } from '../exec.js';
import { keygen, type HostKeyType } from '../sshd.js';
import type { Layout } from './layout.js';
import { PROVISION_SCRIPT } from './provision.js';

export const HOST_KEY_TYPES: HostKeyType[] = ['ed25519', 'ecdsa', 'rsa'];

/**
 * Units that would act on the whole machine (kernel settings, modules, binfmt, the clock, remounting /, the
 * kernel's audit and trace interfaces) or that want a terminal, masked whether or not they are enabled.
 */
export const ALWAYS_MASKED = [
  'systemd-sysctl.service',
  'systemd-modules-load.service',
  'modprobe@.service',
  'kmod-static-nodes.service',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'proc-sys-fs-binfmt_misc.mount',
  'systemd-timesyncd.service',
  'systemd-remount-fs.service',
  'systemd-journald-audit.socket',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-kernel-config.mount',
  'sys-fs-fuse-connections.mount',
  'dev-hugepages.mount',
  'getty@.service',
  'serial-getty@.service',
  'console-getty.service',
  'container-getty@.service',
];

/** Enabled on the machine and wanted in the hosts; every other unit the machine enables is masked. */
const KEPT = new Set(['ssh.service', 'sshd.service', 'nginx.service']);

/** The units enabled on the machine (symlinks in /etc/systemd/system/*.wants), targets excepted. */
function machineEnabledUnits(): string[] {
  const etc = '/etc/systemd/system';
  let dirs: string[];
  try {
    dirs = fs.readdirSync(etc).filter((d) => d.endsWith('.wants') || d.endsWith('.requires'));
  } catch {
    return [];
  }
  const units = dirs.flatMap((d) => {
    try {
      return fs.readdirSync(path.join(etc, d));
    } catch {
      return [];
    }
  });
  return [...new Set(units)].filter((u) => !u.endsWith('.target'));
}

/** Everything a host masks: ALWAYS_MASKED plus what the machine enables that a host does not need. */
export function maskedUnits(): string[] {
  const extra = machineEnabledUnits()
    .filter((u) => !KEPT.has(u))
    .map((u) => u.replace(/@[^.]+\./, '@.')); // getty@tty1.service: mask the template
  return [...new Set([...ALWAYS_MASKED, ...extra])].sort();
}

function writeUpper(upper: string, rel: string, text: string, mode = 0o644): void {
  const file = path.join(upper, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, text, { mode });
}

const SSHD_DROP_IN = [
  '# bgd booted host (test-target/booted/rootfs.ts)',
  ...HOST_KEY_TYPES.map((t) => `HostKey /etc/ssh/ssh_host_${t}_key`),
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'PermitRootLogin prohibit-password',
  'MaxStartups 50:30:100',
  '',
].join('\n');

const JOURNALD_DROP_IN = '[Journal]\nSystemMaxUse=16M\nRuntimeMaxUse=8M\n';

/** Fills the upper layer before the first boot (the overlay is not mounted anywhere yet). */
export async function prepareUpper(layout: Layout, hostname: string): Promise<void> {
  const { upper } = layout;
  const unitDir = path.join(upper, 'etc/systemd/system');
  fs.mkdirSync(unitDir, { recursive: true, mode: 0o755 });
  for (const unit of maskedUnits()) fs.symlinkSync('/dev/null', path.join(unitDir, unit));
  writeUpper(upper, 'etc/hostname', `${hostname}\n`);
  // sudo looks its hostname up: without this line it warns on stderr ("unable to resolve host").
  writeUpper(upper, 'etc/hosts', `${readQuiet('/etc/hosts').trimEnd()}\n127.0.1.1\t${hostname}\n`);
  writeUpper(upper, 'etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
  writeUpper(upper, 'etc/ssh/sshd_config.d/bgd.conf', SSHD_DROP_IN);
  writeUpper(upper, 'etc/systemd/journald.conf.d/bgd.conf', JOURNALD_DROP_IN);
  await Promise.all(HOST_KEY_TYPES.map((t) => keygen(path.join(upper, `etc/ssh/ssh_host_${t}_key`), t)));
}

export interface ProvisionSpec {
  user: 'deploy' | 'root';
  /** The client's public key line, for ~user/.ssh/authorized_keys. */
  publicKey: string;
  sudo: boolean;
  linger: boolean;
  /** Further sudoers lines for deploy (with sudo). */
  sudoers: string[];
  /** The port the nginx include names at first. */
  includePort: number;
}

/** Runs PROVISION_SCRIPT in a chroot on the overlay, in a mount namespace of its own that dies with it. */
export async function provision(layout: Layout, spec: ProvisionSpec): Promise<void> {
  const mount = `lowerdir=/,upperdir=${layout.upper},workdir=${layout.work}`;
  const outer = 'set -e; mount -t overlay overlay -o "$1" "$2"; exec chroot "$2" /bin/sh -c "$3"';
  await execOk(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', outer, 'sh', mount, layout.root, PROVISION_SCRIPT],
    {
      env: {
        PATH: SYS_PATH,
        LANG: 'C',
        BGD_USER: spec.user,
        BGD_PUBKEY: spec.publicKey.trim(),
        BGD_SUDO: spec.sudo && spec.user === 'deploy' ? '1' : '0',
        BGD_SUDOERS_EXTRA: spec.sudoers.join('\n'),
        BGD_LINGER: spec.linger ? '1' : '0',
        BGD_INCLUDE_PORT: String(spec.includePort),
      },
    },
  );
}

/** A file of the host as its upper layer holds it ('' when the host has not written it). */
export function upperFile(layout: Layout, p: string): string {
  return readQuiet(path.join(layout.upper, p));
}
