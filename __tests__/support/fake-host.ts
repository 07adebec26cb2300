// A scripted fake host for the deploy logic: answers remote commands by title, records what ran.
import type { RemoteCommand } from '../../src/commands/types.js';
import type { Settings } from '../../src/inputs.js';
import type { Log } from '../../src/log.js';
import type { ExecResult, HeldCommand, HttpResult, Remote } from '../../src/remote.js';

export const settings: Settings = {
  targets: [{ host: 'h', port: 22 }],
  batchSize: 1,
  username: 'deploy',
  privateKey: 'k',
  knownHosts: [],
  hostFingerprints: [],
  strictHostKeyChecking: true,
  connectTimeoutMs: 1000,
  jarPath: new URL(import.meta.url).pathname, // any readable file
  jarSha256: 'a'.repeat(64),
  releaseId: 'r2',
  remoteDir: '/opt/app',
  keepReleases: 5,
  bluePort: 8080,
  greenPort: 8081,
  java: 'java',
  javaOpts: [],
  appArgs: [],
  env: [],
  secretEnv: [],
  healthPath: '/actuator/health',
  healthExpect: 'UP',
  healthTimeoutMs: 2000,
  healthIntervalMs: 50,
  nginxInclude: '/etc/nginx/conf.d/service-url.inc',
  nginxReload: 'auto',
  sudo: 'auto',
  drainTimeoutMs: 1000,
  stopTimeoutMs: 1000,
  awaitStop: false,
  lockTimeoutMs: 1000,
};

export type Handler = (cmd: RemoteCommand) => Partial<ExecResult>;

export class FakeHost implements Remote {
  readonly name = 'fake';
  readonly titles: string[] = [];
  lockReleased = false;
  health: () => HttpResult | Error = () => ({ status: 200, body: '{"status":"UP"}' });
  alive = true;
  constructor(private readonly handlers: [RegExp, Handler][]) {}

  async exec(cmd: RemoteCommand): Promise<ExecResult> {
    this.titles.push(cmd.title);
    const h = this.handlers.find(([re]) => re.test(cmd.title));
    if (/alive/.test(cmd.title)) return { code: 0, stdout: `alive=${this.alive ? 1 : 0}`, stderr: '' };
    return { code: 0, stdout: '', stderr: '', ...(h ? h[1](cmd) : {}) };
  }
  async hold(cmd: RemoteCommand): Promise<HeldCommand> {
    this.titles.push(cmd.title);
    return {
      waitFor: async () => 'locked',
      release: async () => ((this.lockReleased = true), 0),
      output: () => ({ stdout: 'locked\n', stderr: '' }),
    };
  }
  async upload(_l: string, remote: string) {
    this.titles.push(`upload ${remote}`);
  }
  async writeFile(remote: string) {
    this.titles.push(`write ${remote}`);
  }
  async httpGet(url: string): Promise<HttpResult> {
    this.titles.push(`GET ${url}`);
    const r = this.health();
    if (r instanceof Error) throw r;
    return r;
  }
  async close() {}
}

export const quiet: Log = { info() {}, warning() {}, error() {}, debug() {}, startGroup() {}, endGroup() {} };

/** Blue (8080) live with our pid 11, green idle. */
export const blueLive: [RegExp, Handler] = [
  /^detect/,
  () => ({
    stdout: 'include=present\ninclude_port=8080\nlistening_8080=1\npid_8080=11 100 r1\nlistening_8081=0\n',
  }),
];
export const launched: [RegExp, Handler] = [/^launch/, () => ({ stdout: 'pid=22\nstart=200\n' })];
export const switched: [RegExp, Handler] = [
  /^switch nginx to/,
  () => ({ stdout: 'workers_before=5:1 6:1 \nworkers_new=7:1 \n' }),
];
