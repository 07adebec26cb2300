// mode status in the job summary: one table of hosts × ports, one of each host's nginx and lock, and each
// host's last deploys. A host that could not be read shows why.
import type { DeployStatus, HostStatus, PortStatus, StatusOutcome } from './status.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function release(p: PortStatus): string {
  if (p.app) return `${p.app.release} (pid ${p.app.pid}${p.listening ? '' : ', not listening'})`;
  if (!p.listening) return '– (nothing listens)';
  const f = p.foreign;
  if (f?.pid === undefined) return '⚠️ not ours (a process the deploy user cannot see)';
  return `⚠️ not ours: pid ${f.pid}${f.command ? ` (${f.command})` : ''}`;
}

function started(p: PortStatus): string {
  return p.app?.since ?? p.foreign?.since ?? '–';
}

function supervised(p: PortStatus): string {
  if (!p.unit) return 'no';
  if ('error' in p.unit) return `❓ ${p.unit.name}: ${p.unit.error}`;
  return `${p.unit.name}: ${p.unit.active}, ${p.unit.enabled}`;
}

function health(p: PortStatus): string {
  if (!p.health) return '–';
  if (p.health.state === 'healthy') return '✅ healthy';
  return `❌ ${p.health.state}: ${p.health.answer}`;
}

const ROUTED: Record<NonNullable<PortStatus['routed']>, string> = {
  primary: '✅ yes',
  backup: '↩️ backup (bake window)',
};

function portRows(host: string, s: HostStatus): string[] {
  return s.ports.map(
    (p) =>
      `| ${cell(host)} | ${p.port} ${p.color} | ${cell(release(p))} | ${started(p)} | ${cell(supervised(p))} | ${cell(health(p))} | ${p.routed ? ROUTED[p.routed] : '–'} |`,
  );
}

function nginx(s: HostStatus): string {
  const n = s.nginx;
  if (n.port === undefined) return `❓ ${n.problem ?? 'unknown'}`;
  const release = n.release ? ` (${n.release})` : '';
  const backup = n.backup === undefined ? '' : `, backup ${n.backup}`;
  const link = n.linksTo ? ` (a symlink to ${n.linksTo})` : '';
  const via = n.via === 'upstream' ? `the upstream group in ${n.upstream}` : `${n.include}${link}`;
  return `${n.port}${release}${backup} via ${via}${n.listening ? '' : ' ⚠️ nothing listens there'}`;
}

function lock(s: HostStatus): string {
  if (s.lock.problem) return `❓ ${s.lock.problem}`;
  if (!s.lock.held) return 'free';
  return `🔒 held by ${s.lock.holder ?? 'a deploy that has not recorded itself yet'}`;
}

function run(d: DeployStatus): string {
  return d.url ? `[${d.id}](${d.url})` : d.id;
}

function deployRows(d: DeployStatus): string {
  const result = d.error && d.result !== 'deployed' ? `${d.outcome}: ${d.error}` : d.outcome;
  const values = [run(d), d.mode, d.release, d.port, result, d.actor, d.commit, d.started, d.ended];
  return `| ${values.map((v) => cell(v === undefined ? '–' : String(v))).join(' | ')} |`;
}

function lastDeploys(host: string, s: HostStatus): string[] {
  const head = `### Last deploys on ${host}`;
  if (s.deploys.length === 0) return [head, '', 'None recorded.', ''];
  return [
    head,
    '',
    '| Run | Mode | Release | Port | Result | Actor | Commit | Started | Ended |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...s.deploys.map(deployRows),
    '',
  ];
}

export function statusMarkdown(hosts: readonly StatusOutcome[]): string {
  const read = hosts.filter((h): h is StatusOutcome & { status: HostStatus } => h.status !== undefined);
  return [
    '## Blue/green status',
    '',
    '| Host | Port | Release | Since | Supervised | Health | nginx routes here |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...hosts.flatMap((h) =>
      h.status
        ? portRows(h.host, h.status)
        : [`| ${cell(h.host)} | – | ❌ ${cell(h.error ?? 'not read')} | – | – | – | – |`],
    ),
    '',
    ...(read.length === 0
      ? []
      : [
          '| Host | nginx routes to | Lock | Releases | Notes |',
          '| --- | --- | --- | --- | --- |',
          ...read.map(
            (h) =>
              `| ${cell(h.host)} | ${cell(nginx(h.status))} | ${cell(lock(h.status))} | ${h.status.releases} | ${cell(h.status.notes.join('; ') || '–')} |`,
          ),
          '',
          ...read.flatMap((h) => lastDeploys(h.host, h.status)),
        ]),
  ].join('\n');
}
