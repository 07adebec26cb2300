// What nginx's part of a deploy runs as root, as sh words: the reload by mode, the writes of each file, nginx -t
// and -T. The switch script (nginx.ts) is built from these, and preflight asks sudo about exactly the same list.
import type { ReloadMode, SudoMode } from '../inputs.js';
import { quote, quoteAll } from '../shell.js';
import type { FileChange } from './nginx.js';

export interface NginxSpec {
  config?: string;
  reload: ReloadMode;
  sudo: SudoMode;
}

/** nginx with the main config when one is given: `nginx [-c CONFIG] ARGS...` */
export function nginxArgv(spec: NginxSpec, ...args: string[]): string[] {
  return ['nginx', ...(spec.config ? ['-c', spec.config] : []), ...args];
}

/** One way to reload nginx as root; `when`: the sh condition under which reload mode auto tries it. */
export interface ReloadCommand {
  /** The as_root command, as sh words. */
  command: string;
  when?: string;
}

/**
 * The reload commands in the order the deploy tries them: one for an explicit mode (and for auto with a main
 * config: only nginx itself knows it), else systemctl on a systemd host, then the init script, then the signal.
 */
export function reloadCommands(spec: NginxSpec): ReloadCommand[] {
  const signal = { command: quoteAll(nginxArgv(spec, '-s', 'reload')) };
  const systemctl = { command: 'systemctl reload nginx' };
  const service = { command: 'service nginx reload' };
  if (spec.reload === 'signal' || (spec.reload === 'auto' && spec.config)) return [signal];
  if (spec.reload === 'systemctl') return [systemctl];
  if (spec.reload === 'service') return [service];
  return [
    { ...systemctl, when: '[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1' },
    { ...service, when: 'command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ]' },
    signal,
  ];
}

/**
 * The root commands (as sh words) of writing file `f` through `t`, its temp file: write (tee, chmod, mv), remove
 * the temp file, remove the file. The switch script names them by its variables, a check by the quoted paths.
 */
export function fileCommands(f: string, t: string) {
  return {
    tee: `tee ${t}`,
    chmod: `chmod 644 ${t}`,
    mv: `mv -f ${t} ${f}`,
    rmTmp: `rm -f ${t}`,
    rm: `rm -f ${f}`,
  };
}

/** The line of `nginx -T` that shows nginx loads file `f` (a sh word). */
export function loadedLine(f: string): string {
  return `# configuration file ${f}:`;
}

/** What makes nginx load the action's upstream file `f`. */
export function notLoadedFix(f: string): string {
  return `add "include ${f};" inside http { } (the default nginx.conf loads conf.d/*.conf), or set nginx-upstream-file`;
}

/** Why the upstream file `f` does nothing, and the fix. */
export function notLoadedMessage(f: string): string {
  return `nginx does not load ${f}: ${notLoadedFix(f)}`;
}

/** What a switch with these changes runs as root: each of `all`, and one of `reload`. */
export interface RootCommands {
  all: string[];
  reload: ReloadCommand[];
}

/** The root commands of one switch (the same functions build its script): what sudo must allow. */
export function switchRootCommands(spec: NginxSpec, changes: readonly FileChange[]): RootCommands {
  const all = [quoteAll(nginxArgv(spec, '-t'))];
  if (changes.some((c) => c.mustLoad)) all.push(quoteAll(nginxArgv(spec, '-T')));
  for (const c of changes) {
    const cmd = fileCommands(quote(c.path), quote(`${c.path}.tmp`));
    // Written by the change or by its restore; removed by the change or by the restore of a file that was absent.
    if (c.content !== undefined || c.expected !== undefined) all.push(cmd.tee, cmd.chmod, cmd.mv);
    all.push(cmd.rmTmp);
    if (c.content === undefined || c.expected === undefined) all.push(cmd.rm);
  }
  return { all, reload: reloadCommands(spec) };
}
