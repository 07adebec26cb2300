// mode preflight's sudo row: each command a deploy would run as root on this host, asked of sudo (sudo -n -l),
// and the whole sudoers line with the host's paths when one is missing.
import type { CheckInput } from './preflight-checks.js';
import type { PreflightCheck } from './preflight.js';

const ok = (detail: string): PreflightCheck => ({ name: 'sudo', ok: true, detail });
const failed = (detail: string, fix: string): PreflightCheck => ({ name: 'sudo', ok: false, detail, fix });

/** A symlinked include: the rights name the file it points to, which is what a deploy writes. */
function linkNote(plan: CheckInput['plan']): string {
  if (plan instanceof Error || plan.routing.include.link === undefined) return '';
  const { link, path } = plan.routing.include;
  return ` (${link} is a symlink: the rights name the file it points to, ${path}, which a deploy writes; the link is kept)`;
}

export function sudo({ probe: p, root, plan }: CheckInput): PreflightCheck {
  if (p.sudo === 'unused') {
    return ok(
      p.uid === 0
        ? 'not needed: logged in as root'
        : `not used (sudo: never): ${p.user} runs nginx and writes its files itself`,
    );
  }
  if (p.sudo === 'absent') {
    return failed(
      'sudo is not installed',
      'install sudo and give the deploy user the sudoers line of the README, or log in as root',
    );
  }
  const missing = root.all.filter((_, i) => !p.allowed[i]);
  // The reload the deploy would get through: the first that applies on this host and is allowed, else the
  // first that applies (the last one, the signal, always does).
  const reloads = root.reload.map((r, i) => ({
    ...r,
    ...(p.reload[i] ?? { applies: false, allowed: false }),
  }));
  const reload = reloads.find((r) => r.applies && r.allowed) ?? reloads.find((r) => r.applies);
  if (reload && !reload.allowed) missing.push(reload.command);
  const count = root.all.length + 1;
  if (missing.length === 0) {
    return ok(`${p.user} may run the ${count} commands a deploy runs as root (sudo -n -l)${linkNote(plan)}`);
  }
  const absolute = (c: string) => {
    const [program, ...rest] = c.split(' ');
    return [p.bins[program] || program, ...rest].join(' ');
  };
  const line = [...root.all, ...(reload ? [reload.command] : [])].map(absolute).join(', ');
  return failed(
    `${p.user} may not run with sudo: ${missing.join(', ')}`,
    `add to its sudoers file (visudo -f /etc/sudoers.d/${p.user}): ${p.user} ALL=(root) NOPASSWD: ${line}${linkNote(plan)}`,
  );
}
