// A fake host for the deploy logic: it answers each kind of remote command with a typed value (or an error),
// and records the title of every command it ran.
import type { CommandKind, CommandResults, RemoteCommand } from '../../src/commands/types.js';
import type { LockCommand } from '../../src/commands/lock.js';
import type { Settings } from '../../src/inputs.js';
import type { Log } from '../../src/log.js';
import { RemoteCommandError, type Executor, type HeldCommand, type HttpResult } from '../../src/remote.js';

export const settings: Settings = {
  targets: [{ host: 'h', port: 22 }],
  batchSize: 1,
  username: 'deploy',
  privateKey: 'k',
  knownHosts: [],
  hostFingerprints: [],
  strictHostKeyChecking: true,
  connectTimeoutMs: 1000,
  commandTimeoutMs: 60000,
  mode: 'deploy',
  rollbackOnFailure: true,
  jar: { path: new URL(import.meta.url).pathname, sha256: 'a'.repeat(64), bytes: 1000 }, // any readable file
  releaseId: 'r2',
  remoteDir: '/opt/app',
  keepReleases: 5,
  bluePort: 8080,
  greenPort: 8081,
  java: 'java',
  javaOpts: [],
  appArgs: [],
  portArg: ['--server.port={port}'],
  env: [],
  secretEnv: [],
  healthPath: '/actuator/health',
  healthExpect: 'UP',
  healthTimeoutMs: 2000,
  healthProbeTimeoutMs: 5000,
  healthIntervalMs: 50,
  nginxInclude: '/etc/nginx/conf.d/service-url.inc',
  nginxReload: 'auto',
  bakeTimeMs: 0,
  sudo: 'auto',
  drainTimeoutMs: 1000,
  stopTimeoutMs: 1000,
  awaitStop: false,
  lockTimeoutMs: 1000,
  supervisor: 'none',
  serviceName: 'app',
};

type Answer<K extends CommandKind> = (cmd: RemoteCommand<K>) => CommandResults[K] | Error;
export type Answers = { [K in CommandKind]?: Answer<K> };

/** Blue (8080) live, served by our pid 11 of release r1; green (8081) free. */
export const INCLUDE_TEXT = '# mine\nset $service_url "http://localhost:8080/";\n';

export const blueLive = (): CommandResults['detect'] => ({
  include: { state: 'present', text: INCLUDE_TEXT },
  upstream: { state: 'missing' },
  releases: 1,
  ports: new Map([
    [8080, { port: 8080, listening: true, ours: { pid: 11, start: '100', release: 'r1' } }],
    [8081, { port: 8081, listening: false }],
  ]),
});

/** mode status on the blueLive host: booted at 2024-01-01T00:00:00Z, 100 ticks a second; lock free, no history. */
export const statusRead = (): CommandResults['status'] => ({
  detection: blueLive(),
  bootTime: 1704067200,
  ticksPerSecond: 100,
  lock: { state: 'free' },
  units: new Map(),
  history: { text: '', releases: [{ id: 'r1', complete: true }] },
});

/** What preflight finds on a host that is ready (logged in as root: no sudo to ask). */
export const readyProbe = (): CommandResults['preflight'] => ({
  user: 'root',
  uid: 0,
  remoteDir: 'writable',
  base: '/opt/app',
  blocked: [],
  freeKiB: 500000,
  java: { path: '/usr/bin/java', ok: true, version: 'openjdk version "21.0.2" 2024-01-16' },
  missingTools: [],
  sudo: 'unused',
  allowed: [],
  reload: [],
  bins: {
    nginx: '/usr/sbin/nginx',
    tee: '/usr/bin/tee',
    chmod: '/usr/bin/chmod',
    mv: '/usr/bin/mv',
    rm: '/usr/bin/rm',
  },
  nginxTest: { ok: true, output: 'nginx: configuration file /etc/nginx/nginx.conf test is successful' },
  nginxDump: true,
  loaded: ['yes', 'yes'],
  nginxWorkers: 2,
  selinux: 'absent',
  networkConnect: '',
  lock: { held: false, info: '' },
});

const DEFAULTS: Required<Answers> = {
  detect: blueLive,
  prepare: () => ({ releaseId: 'r2' }),
  verifyUpload: () => undefined,
  launch: () => ({ pid: 22, start: '200' }),
  alive: () => true,
  portOwner: () => ({ owner: 'ours', pids: [22] }),
  logTail: () => '',
  stop: () => ({ how: 'exited', ms: 40 }),
  switch: () => ({ oldWorkers: [5, 6] }),
  drain: () => ({ ms: 30, timedOut: false }),
  prune: () => [],
  httpOnHost: () => ({ status: 200, body: '' }),
  supervisorCheck: () => [],
  enableUnit: () => undefined,
  adopt: () => undefined,
  appendHistory: () => undefined,
  history: () => ({ text: '', releases: [{ id: 'r1', complete: true }] }),
  verifyRelease: () => 'b'.repeat(64),
  status: statusRead,
  preflight: readyProbe,
};

/** One appendHistory script read back: its JSON record, and `open <id>` or `close` (run/history.open). */
export interface Appended {
  record: Record<string, unknown>;
  marker: string;
}

/** The inverse of quote() for one single-quoted word (or a plain one). */
function unquote(word: string): string {
  return word.replace(
    /'([^']*)'|\\(.)/g,
    (_, quoted: string | undefined, escaped: string | undefined) => quoted ?? escaped ?? '',
  );
}

export function appended(script: string): Appended {
  const line = /^history_append ((?:'[^']*'|\\')+) \|\| /m.exec(script);
  if (!line) throw new Error(`no history_append line in:\n${script}`);
  const last = script.trimEnd().split('\n').at(-1) ?? '';
  const open = /^printf '%s\\n' (\S+) > \/opt\/app\/run\/history\.open$/.exec(last);
  const marker = open
    ? `open ${unquote(open[1])}`
    : last === 'rm -f -- /opt/app/run/history.open'
      ? 'close'
      : last;
  return { record: JSON.parse(unquote(line[1])) as Record<string, unknown>, marker };
}

/** A non-zero exit of the named command, as the executor reports it. */
export function exitCode(code: number, stderr: string) {
  return (cmd: { title: string }) => new RemoteCommandError(cmd.title, { code, stdout: '', stderr });
}

/** What the lock shell says, line by line, and the exit code it ends with. */
export interface LockScript {
  lines: string[];
  exit: number;
  stdout?: string;
}

export class FakeHost implements Executor {
  readonly ran: string[] = [];
  readonly logLines: string[] = [];
  lockReleased = false;
  /** The deadline of each wait for a lock line, in order. */
  lockWaits: number[] = [];
  readonly lockScripts: string[] = [];
  /** What each appendHistory command appended (the record) and did with run/history.open. */
  readonly history: Appended[] = [];
  lock: LockScript = { lines: ['locked'], exit: 0 };
  health: (url: string) => HttpResult | Error = () => ({ status: 200, body: '{"status":"UP"}' });

  constructor(private readonly answers: Answers = {}) {}

  async run<K extends CommandKind>(cmd: RemoteCommand<K>): Promise<CommandResults[K]> {
    this.ran.push(cmd.title);
    if (cmd.kind === 'appendHistory') this.history.push(appended(cmd.script));
    const answer = (this.answers[cmd.kind] ?? DEFAULTS[cmd.kind]) as Answer<K>;
    const value = answer(cmd);
    if (value instanceof Error) throw value;
    return value;
  }

  async hold(cmd: LockCommand): Promise<HeldCommand> {
    this.ran.push(cmd.title);
    this.lockScripts.push(cmd.script);
    const lines = [...this.lock.lines];
    return {
      waitFor: async (patterns, timeoutMs) => {
        this.lockWaits.push(timeoutMs);
        for (let line = lines.shift(); line !== undefined; line = lines.shift()) {
          if (patterns.some((p) => p.test(line))) return line;
        }
        throw new Error('the lock shell ended');
      },
      release: async () => ((this.lockReleased = true), this.lock.exit),
      output: () => ({ stdout: this.lock.stdout ?? this.lock.lines.join('\n'), stderr: '' }),
    };
  }

  async upload(_local: string, remote: string): Promise<void> {
    this.ran.push(`upload ${remote}`);
  }

  async writeFile(remote: string, content: string, mode: number): Promise<void> {
    this.ran.push(`write ${remote} (${mode.toString(8)}): ${content.trim()}`);
  }

  async httpGet(url: string): Promise<HttpResult> {
    this.ran.push(`GET ${url}`);
    const r = this.health(url);
    if (r instanceof Error) throw r;
    return r;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The commands it ran, without the health polls. */
  commands(): string[] {
    return this.ran.filter((t) => !t.startsWith('GET') && !t.includes('alive'));
  }
}

/** A log that keeps what it was told, for asserting warnings. */
export function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    startGroup: (n) => lines.push(`group: ${n}`),
    endGroup: () => lines.push('endgroup'),
    verbatim: (t) => lines.push(`verbatim: ${t}`),
  };
}

/** A fake clock: sleep advances time at once, so polling steps run in no real time. */
export function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
