// The nginx of a target: one server on 127.0.0.1:<port> that proxies to `$service_url`, which the include file
// sets (an empty include answers 502), and the test helpers that rewrite the include and reload.
import fs from 'node:fs';
import path from 'node:path';
import { execOk, spawnDaemon, type Daemon } from './exec.js';
import type { Argv } from './netns.js';
import { waitForPort } from './ports.js';
import { descendants, processAlive } from './processes.js';
import { waitUntil } from './wait.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxSpec {
  /** The nginx dir as nginx sees it (the common path for isolated targets) ... */
  dir: string;
  /** ... and as the test sees it. */
  localDir: string;
  port: number;
  /** The include path as nginx sees it. */
  include: string;
  /** Port in the initial include; null: an empty include. */
  includePort: number | null;
  wrap: (file: string, args: string[]) => Argv;
  /** How to tell that it listens (default: a TCP connection to 127.0.0.1:port succeeds). */
  up?: (port: number) => Promise<boolean>;
}

/** The port an include routes to: its own, or the first server of the action's upstream group; or null. */
export function routedPort(include: string, group: () => string): number | null {
  const direct = /http:\/\/127\.0\.0\.1:(\d+)[/;]/.exec(include);
  if (direct) return Number(direct[1]);
  if (!include.includes('bluegreen_')) return null;
  const first = /^ {4}server 127\.0\.0\.1:(\d+);$/m.exec(group());
  return first ? Number(first[1]) : null;
}

/** The include's text for a port (null: empty). */
export function includeText(port: number | null): string {
  return port === null ? '' : `set $service_url http://127.0.0.1:${port};\n`;
}

function nginxConf(n: string, port: number, include: string): string {
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

    # The action's upstream group (bake window), as conf.d/*.conf is loaded on a real server.
    include ${path.posix.dirname(include)}/bluegreen-*.conf;

    server {
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
            proxy_pass $service_url;
        }
    }
}
`;
}

/** Writes dir/nginx.conf and the include, checks the config, starts nginx, resolves once it listens. */
export async function startNginx(spec: NginxSpec): Promise<Daemon> {
  const { dir: n, localDir: local } = spec;
  fs.mkdirSync(path.join(local, 'tmp'), { recursive: true, mode: 0o755 });
  fs.chmodSync(local, 0o755);
  fs.writeFileSync(path.join(local, path.basename(spec.include)), includeText(spec.includePort), {
    mode: 0o644,
  });
  fs.writeFileSync(path.join(local, 'nginx.conf'), nginxConf(n, spec.port, spec.include), { mode: 0o644 });
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
