// The nginx of a target: one server on 127.0.0.1:<port> that proxies to `$service_url`, which the include file
// sets (an empty include answers 502), and the test helpers that rewrite the include and reload. Other layouts
// users have (NginxLayout): the set line without a scheme used as `proxy_pass http://$service_url;`, the user's
// own upstream block in a conf file loaded in http { }, and a whole site file (upstream block and server) in
// sites-available, linked from sites-enabled.
import fs from 'node:fs';
import path from 'node:path';
import { execOk, spawnDaemon, type Daemon } from './exec.js';
import type { Argv } from './netns.js';
import { waitForPort } from './ports.js';
import { descendants, processAlive } from './processes.js';
import { waitUntil } from './wait.js';

export const NGINX = '/usr/sbin/nginx';

/** How the target's nginx routes to the app (see the file's head). */
export type NginxLayout = 'set' | 'set-no-scheme' | 'upstream-block' | 'site-symlink';

/** The user's upstream group in the block layouts. */
export const UPSTREAM_NAME = 'app_backend';

/** The include (the action's nginx-include) of a layout, relative to the nginx dir. */
export function includeName(layout: NginxLayout): string {
  if (layout === 'upstream-block') return 'app-upstream.conf';
  if (layout === 'site-symlink') return 'sites-enabled/app.conf';
  return 'service-url.inc';
}

/** The file the include's path holds or links to, relative to the nginx dir. */
export function includeFileName(layout: NginxLayout): string {
  return layout === 'site-symlink' ? 'sites-available/app.conf' : includeName(layout);
}

/** Under `root`: the include, the file it is or links to, and the action's upstream file beside the include. */
export function nginxFiles(root: string, layout: NginxLayout): [string, string, string] {
  const include = path.join(root, 'nginx', includeName(layout));
  const base = path.basename(include).replace(/\.[^.]*$/, '');
  const upstream = path.join(path.dirname(include), `bluegreen-${base}.conf`);
  return [include, path.join(root, 'nginx', includeFileName(layout)), upstream];
}

export interface NginxSpec {
  /** The nginx dir as nginx sees it (the common path for isolated targets) ... */
  dir: string;
  /** ... and as the test sees it. */
  localDir: string;
  port: number;
  /** The include path as nginx sees it. */
  include: string;
  /** Port in the initial include; null: an empty include (set layouts only). */
  includePort: number | null;
  /** Default 'set'. */
  layout?: NginxLayout;
  wrap: (file: string, args: string[]) => Argv;
  /** How to tell that it listens (default: a TCP connection to 127.0.0.1:port succeeds). */
  up?: (port: number) => Promise<boolean>;
}

/**
 * The port an include routes to: its own (with or without a scheme), the live server of its upstream block, or
 * the first server of the action's upstream group; or null.
 */
export function routedPort(include: string, group: () => string): number | null {
  const direct = /\$service_url\s+(?:http:\/\/)?127\.0\.0\.1:(\d+)[/;]/.exec(include);
  if (direct) return Number(direct[1]);
  const block = /^\s*server 127\.0\.0\.1:(\d+)(?![^;]*\bbackup\b)[^;]*;/m.exec(include);
  if (block) return Number(block[1]);
  if (!include.includes('bluegreen_')) return null;
  const first = /^ {4}server 127\.0\.0\.1:(\d+);$/m.exec(group());
  return first ? Number(first[1]) : null;
}

/** The user's upstream block as the block layouts start with it (hand-written: parameters, zone, keepalive). */
export function blockText(port: number): string {
  return `# The app's upstream group (test-target/nginx.ts)
upstream ${UPSTREAM_NAME} {
    zone ${UPSTREAM_NAME} 64k;
    server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;
    keepalive 16;
}
`;
}

/** A server that proxies to the user's upstream group, with keep-alive connections to it; `pad` indents it. */
function blockServer(nginxPort: number, pad: string): string {
  const lines = [
    'server {',
    `    listen 127.0.0.1:${nginxPort};`,
    '    location / {',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_next_upstream error timeout http_500 http_502 http_503;',
    `        proxy_pass http://${UPSTREAM_NAME};`,
    '    }',
    '}',
  ];
  return lines.map((l) => pad + l).join('\n');
}

/** A whole site, as sites-available holds it: the upstream block and the server that uses it. */
export function siteText(port: number, nginxPort: number): string {
  return `${blockText(port)}\n${blockServer(nginxPort, '')}\n`;
}

/** The include's text for a port (null: empty). */
export function includeText(port: number | null, layout: NginxLayout = 'set', nginxPort = 0): string {
  if (layout === 'upstream-block' || layout === 'site-symlink') {
    if (port === null) throw new Error(`the ${layout} layout has no empty include`);
    return layout === 'upstream-block' ? blockText(port) : siteText(port, nginxPort);
  }
  if (port === null) return '';
  return layout === 'set'
    ? `set $service_url http://127.0.0.1:${port};\n`
    : `set $service_url 127.0.0.1:${port};\n`;
}

/** The server block of the set layouts: proxy_pass $service_url, or http://$service_url without a scheme. */
function setServer(port: number, include: string, layout: NginxLayout): string {
  const pass = layout === 'set' ? '$service_url' : 'http://$service_url';
  return `    server {
        listen 127.0.0.1:${port};

        # Declares the variable so that an empty include is still a valid config (answers 502).
        set $service_url "";
        include ${include};

        location / {
            if ($service_url = "") {
                return 502;
            }
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # During a bake window: what the new app refuses or fails, its backup (the old app) answers.
            proxy_next_upstream error timeout http_500 http_502 http_503;
            proxy_pass ${pass};
        }
    }`;
}

/** What http { } holds beyond the common part, by layout. */
function httpBody(port: number, include: string, layout: NginxLayout): string {
  if (layout === 'upstream-block') return `    include ${include};\n\n${blockServer(port, '    ')}`;
  if (layout === 'site-symlink') return `    include ${path.posix.dirname(include)}/*;`;
  return setServer(port, include, layout);
}

/** The action's upstream group (bake window), as conf.d/*.conf is loaded on a real server (sites-enabled/* has it). */
function groupInclude(include: string, layout: NginxLayout): string {
  if (layout === 'site-symlink') return '';
  return `    # The action's upstream group (bake window), as conf.d/*.conf is loaded on a real server.
    include ${path.posix.dirname(include)}/bluegreen-*.conf;

`;
}

function nginxConf(n: string, port: number, include: string, layout: NginxLayout): string {
  return `# bgd test target (test-target/nginx.ts)
worker_processes 2;
pid ${n}/nginx.pid;
error_log ${n}/error.log;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path ${n}/tmp/client_body;
    proxy_temp_path ${n}/tmp/proxy;
    fastcgi_temp_path ${n}/tmp/fastcgi;
    uwsgi_temp_path ${n}/tmp/uwsgi;
    scgi_temp_path ${n}/tmp/scgi;

${groupInclude(include, layout)}${httpBody(port, include, layout)}
}
`;
}

/** The include (and for site-symlink the file it links to, in sites-available), root's, mode 644. */
function writeInclude(spec: NginxSpec, layout: NginxLayout): void {
  const file = path.join(spec.localDir, includeFileName(layout));
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, includeText(spec.includePort, layout, spec.port), { mode: 0o644 });
  if (layout !== 'site-symlink') return;
  const link = path.join(spec.localDir, includeName(layout));
  fs.mkdirSync(path.dirname(link), { recursive: true, mode: 0o755 });
  fs.symlinkSync(`../${includeFileName(layout)}`, link);
}

/** Writes dir/nginx.conf and the include, checks the config, starts nginx, resolves once it listens. */
export async function startNginx(spec: NginxSpec): Promise<Daemon> {
  const { dir: n, localDir: local } = spec;
  fs.mkdirSync(path.join(local, 'tmp'), { recursive: true, mode: 0o755 });
  fs.chmodSync(local, 0o755);
  const layout = spec.layout ?? 'set';
  writeInclude(spec, layout);
  fs.writeFileSync(path.join(local, 'nginx.conf'), nginxConf(n, spec.port, spec.include, layout), {
    mode: 0o644,
  });
  const config = path.join(n, 'nginx.conf');
  // -e: the compiled-in default error log is opened before the config is read.
  const errArgs = ['-e', path.join(n, 'error.log')];
  await execOk(...spec.wrap(NGINX, ['-c', config, ...errArgs, '-t', '-q']));
  const daemon = spawnDaemon(
    spec.wrap(NGINX, ['-c', config, ...errArgs, '-g', 'daemon off;']),
    path.join(local, 'stderr.log'),
  );
  const server = { ...daemon, what: 'nginx', logFile: path.join(local, 'error.log') };
  await waitForPort(spec.port, server, 10_000, spec.up);
  return daemon;
}

/** `nginx -t` then `nginx -s reload` (as root), then waits until the master's old workers have exited. */
export async function reloadNginx(masterPid: number, config: string, wrap: NginxSpec['wrap']): Promise<void> {
  const oldWorkers = descendants(masterPid);
  await execOk(...wrap(NGINX, ['-c', config, '-t', '-q']));
  await execOk(...wrap(NGINX, ['-c', config, '-s', 'reload']));
  await waitUntil('the old nginx workers to exit', () => !oldWorkers.some(processAlive));
}
