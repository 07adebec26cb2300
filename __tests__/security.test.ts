// Security guarantees of the bundled action (dist/index.js), checked against real loopback targets (OpenSSH
// sshd, nginx, JVMs; test-target/): host keys are verified and fail closed, secrets never reach the
// log, no input value is ever run as shell code on the host, the deploy user needs only the README's narrow
// sudo, and a failing remote command fails the step with its exit code and stderr.
// Each test says which protection it guards; each is written so that it fails when that protection is gone.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildDemoJar, REPO_ROOT as REPO } from '../test-target/demo-jar.js';
import { processAlive, waitGone } from '../test-target/processes.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { runAction, stopStartedActions, targetInputs, type ActionResult } from '../test-target/run-action.js';
import { errors, expectFailure, expectSuccess } from './support/action.js';

jest.setTimeout(120_000);

const run = promisify(execFile);

let target: Target; // user `deploy` with the harness's narrow sudoers line
let local: string; // runner-side scratch: keys, odd jar copies

beforeAll(async () => {
  local = fs.mkdtempSync(path.join(os.tmpdir(), 'bgd-security-'));
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
  if (local) fs.rmSync(local, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

/** For set-up and tear-down hooks (an expect() there is outside any test): throws unless cond holds. */
function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

/** Successful public key logins sshd has logged so far: the proof that a client authenticated. */
function logins(t: Target): number {
  const log = fs.readFileSync(path.join(t.dir, 'sshd.log'), 'utf8');
  return log.split('\n').filter((l) => l.startsWith('Accepted publickey')).length;
}

async function deploy(t: Target, version: string, extra: Record<string, string> = {}, debug = false) {
  const jar = await buildDemoJar({ version });
  return runAction({ inputs: targetInputs(t, { jar, ...extra }), debug });
}

/** The exact argv of a running process. */
function argvOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
}

/** The app the action recorded as running on `port` under remote-dir `dir`: pid and release. */
function recordedApp(dir: string, port: number): { pid: number; release: string } {
  const [pid, , release] = fs
    .readFileSync(path.join(dir, 'run', `${port}.pid`), 'utf8')
    .trim()
    .split(' ');
  return { pid: Number(pid), release };
}

function appLog(dir: string, releaseId: string): string {
  return fs.readFileSync(path.join(dir, 'releases', releaseId, 'app.log'), 'utf8');
}

/** The `args: [...]` line the demo app logs at start, parsed. */
function loggedArgs(log: string): string[] {
  const line = log.split('\n').find((l) => l.startsWith('args: '));
  if (!line) throw new Error(`no args line in the app log:\n${log}`);
  return JSON.parse(line.slice('args: '.length)) as string[];
}

function loggedEnv(log: string): string[] {
  return log.split('\n').filter((l) => l.startsWith('env DEMO_'));
}

// ---------------------------------------------------------------------------------------------
// 1. host keys

describe('host keys are verified by default and fail closed', () => {
  const hostKeyLines = () => target.knownHosts.trim().split('\n');
  const fps = () => Object.values(target.hostKeyFingerprints);

  // Guards: the hostVerifier (a wrong key stops the handshake before authentication) and the mismatch help
  // (the offered fingerprints and the ssh-keyscan command). Without verification this deploys.
  test('known-hosts holding a different key: fails before logging in, names the offered keys', async () => {
    const keyFile = path.join(local, 'other_host_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', keyFile]);
    const [type, b64] = fs.readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/);
    const remoteDir = path.join(target.remoteDir, 'wrong-key');
    const before = logins(target);

    const r = await deploy(target, 'hk', {
      'known-hosts': `[127.0.0.1]:${target.sshPort} ${type} ${b64}\n`,
      'remote-dir': remoteDir,
    });

    expectFailure(r);
    const message = errors(r).join('\n');
    expect(message).toContain('Host key verification failed');
    for (const fp of fps()) expect(message).toContain(fp);
    expect(message).toContain(`ssh-keyscan -p ${target.sshPort} 127.0.0.1`);
    // No command ran: nobody authenticated, and the lock step (mkdir releases, .deploy.lock) never happened.
    expect(logins(target)).toBe(before);
    expect(fs.existsSync(remoteDir)).toBe(false);
    expect(fs.existsSync(path.join(remoteDir, 'releases'))).toBe(false);
    expect(fs.existsSync(path.join(remoteDir, '.deploy.lock'))).toBe(false);
    expect(r.stdout).not.toMatch(/::group::Lock/);
  });

  // Guards: port-aware host matching (a port 22 line does not vouch for another port) and its hint.
  test('known-hosts written for port 22 only: fails with the [host]:port hint', async () => {
    const port22 = hostKeyLines()
      .map((l) => l.replace(`[127.0.0.1]:${target.sshPort} `, '127.0.0.1 '))
      .join('\n');
    expect(port22).not.toContain('[');
    const remoteDir = path.join(target.remoteDir, 'port-22-lines');
    const before = logins(target);

    const r = await deploy(target, 'hk', { 'known-hosts': port22, 'remote-dir': remoteDir });

    expectFailure(r);
    const message = errors(r).join('\n');
    expect(message).toContain(`no known-hosts entry matches [127.0.0.1]:${target.sshPort}`);
    expect(message).toContain(`must be written as [127.0.0.1]:${target.sshPort}`);
    expect(message).toContain(`ssh-keyscan -p ${target.sshPort} 127.0.0.1`);
    expect(logins(target)).toBe(before);
    expect(fs.existsSync(remoteDir)).toBe(false);
  });

  // Guards: a fingerprint of a non-default key type (rsa; ssh2 would negotiate ed25519 first) is honoured by
  // negotiating that key type. Without it the server shows its ed25519 key and the deploy fails.
  test('host-fingerprint alone (the rsa key) deploys', async () => {
    const r = await deploy(target, 'hk', {
      'known-hosts': '',
      'host-fingerprint': target.hostKeyFingerprints.rsa,
    });
    expectSuccess(r);
    expect(r.stdout).toContain(`host key ssh-rsa ${target.hostKeyFingerprints.rsa}`);
  });

  // Guards: the opt-out is loud: the accepted, unverified key is named in a ::warning::.
  test('strict-host-key-checking: false without known-hosts deploys, with a warning naming the key', async () => {
    const r = await deploy(target, 'hk', { 'known-hosts': '', 'strict-host-key-checking': 'false' });
    expectSuccess(r);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('::warning::'));
    const warning = warnings.find((w) => w.includes('strict-host-key-checking is off'));
    expect(warning).toBeDefined();
    expect(fps().some((fp) => warning?.includes(fp))).toBe(true);
  });

  // Guards: the client negotiates the key type known-hosts pins. ed25519 is ssh2's first choice anyway, so the
  // ecdsa and rsa rows are the ones that fail without pinning.
  test.each([
    ['ssh-ed25519', 'ed25519'],
    ['ecdsa-sha2-nistp256', 'ecdsa'],
    ['ssh-rsa', 'rsa'],
  ] as const)('known-hosts with only the %s line deploys, negotiating that key', async (type, kind) => {
    const line = hostKeyLines().find((l) => l.split(' ')[1] === type);
    expect(line).toBeDefined();
    const r = await deploy(target, 'hk', { 'known-hosts': `${line}\n` });
    expectSuccess(r);
    expect(r.stdout).toContain(`host key ${type} ${target.hostKeyFingerprints[kind]}`);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. secrets

describe('secrets never reach the log', () => {
  let passphrase: string;
  let encryptedKey: string;
  let secret: string;

  beforeAll(async () => {
    passphrase = `pp-${randomBytes(12).toString('base64url')}`;
    secret = randomBytes(18).toString('base64url'); // 24 characters
    const copy = path.join(local, 'client_key_encrypted');
    fs.copyFileSync(target.privateKeyPath, copy);
    fs.chmodSync(copy, 0o600);
    await run('ssh-keygen', ['-q', '-p', '-P', '', '-N', passphrase, '-f', copy]);
    encryptedKey = fs.readFileSync(copy, 'utf8');
    check(encryptedKey !== target.privateKey, 'ssh-keygen -p did not change the key');
  });

  /** Everything the runner would show: stdout + stderr without the ::add-mask:: commands it consumes. */
  function shown(r: ActionResult): string {
    return r.log
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
  }

  function expectNoSecrets(r: ActionResult): void {
    const text = shown(r);
    const keyBody = encryptedKey
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('-----'));
    expect(keyBody.length).toBeGreaterThan(2);
    const leaks = [passphrase, secret, ...keyBody].filter((s) => text.includes(s) || r.summary.includes(s));
    if (leaks.length > 0) throw new Error(`secrets in the log: ${leaks.join(', ')}\n${text}`);
  }

  const inputs = (jar: string) =>
    targetInputs(target, {
      jar,
      'private-key': encryptedKey,
      passphrase,
      'secret-env': `DEMO_SECRET=${secret}\n`,
      'health-timeout': '10',
    });

  /** The modes of the release's env files, one per port. */
  const envFileModes = (id: string) =>
    [target.bluePort, target.greenPort].map(
      (port) => fs.statSync(path.join(target.remoteDir, 'releases', id, `app-${port}.env`)).mode & 0o777,
    );

  // Guards: masking of private-key, passphrase and secret-env values, and that no debug output (scripts,
  // settings) carries them; the env file is written by SFTP with mode 600, never on a command line.
  test('a successful debug run with an encrypted key and secret-env shows none of them', async () => {
    const r = await runAction({ inputs: inputs(await buildDemoJar({ version: 'secret' })), debug: true });
    expectSuccess(r);
    expectNoSecrets(r);

    const id = r.outputs['release-id'];
    // The app did get the secret, from its env file, and it is not on its command line.
    expect(loggedEnv(appLog(target.remoteDir, id))).toContain(`env DEMO_SECRET=${secret}`);
    expect(envFileModes(id)).toEqual([0o600, 0o600]);
    const app = recordedApp(target.remoteDir, Number(r.outputs['active-port']));
    expect(app.release).toBe(id);
    expect(argvOf(app.pid).join(' ')).not.toContain(secret);
  });

  // Guards: the failure path too (error messages, the app log tail shown on a crash) keeps secrets out.
  test('a failing debug run (the app crashes) shows none of them either', async () => {
    const r = await runAction({
      inputs: inputs(await buildDemoJar({ version: 'secret-crash', crash: true })),
      debug: true,
    });
    expectFailure(r);
    expect(r.stdout).toMatch(/Last 40 lines of .*app\.log:/);
    expect(r.stdout).toContain('crash requested'); // the tail was shown...
    expect(r.stdout).toContain('env DEMO_SECRET=***'); // ...with the secret cut out
    expectNoSecrets(r);

    const id = r.outputs['release-id'];
    expect(loggedEnv(appLog(target.remoteDir, id))).toContain(`env DEMO_SECRET=${secret}`);
    expect(envFileModes(id)).toEqual([0o600, 0o600]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. no injection

describe('no input value is run as shell code', () => {
  /** Canaries live here; world-writable (sticky) so that even the deploy user's injected `touch` would work. */
  let canaries: string;
  const canary = (name: string) => path.join(canaries, name);

  /** Several ways a value could break out of its quoting, each touching `file`. */
  const hostile = (file: string) =>
    `$(touch ${file}) \`touch ${file}\` ;touch ${file}; && touch ${file} | touch ${file} 'q' "dq" *`;

  beforeAll(async () => {
    canaries = path.join(target.dir, 'canary');
    fs.mkdirSync(canaries);
    fs.chmodSync(canaries, 0o1777);
    // Self-check: an injected command as the deploy user WOULD leave a canary.
    const probe = canary('self-check');
    const touched = await target.ssh(`touch ${probe}`);
    check(
      touched.code === 0 && fs.existsSync(probe),
      `the deploy user cannot leave a canary: ${touched.stderr}`,
    );
    fs.rmSync(probe);
  });

  afterEach(() => {
    const left = fs.readdirSync(canaries);
    check(left.length === 0, `injected commands ran: canaries ${left.join(', ')}`);
  });

  describe('odd values on a deploy-user target', () => {
    let oddDir: string;
    let oddJar: string;
    let settings: Record<string, string>;
    let expectedArgs: (port: number) => string[];
    let expectedEnv: string[];
    let javaOpts: string[];

    beforeAll(async () => {
      oddDir = `${target.remoteDir}/-odd dir 'q' "dq" ${hostile(canary('remote-dir'))} ;x`;
      const appArgs = [
        `--greeting="hello  world"`,
        `'it'"'"'s'`,
        `"\\$(touch ${canary('app-args')})"`,
        `'\`touch ${canary('app-args')}\`'`,
        `';touch ${canary('app-args')};'`,
        `'&& touch ${canary('app-args')}'`,
        `'| touch ${canary('app-args')}'`,
        `'*'`,
        `-rf`,
        `"--multi=line1\ntouch ${canary('app-args')}"`,
        `--dq='"quoted"'`,
        `--empty=`,
        `''`,
      ].join(' \n ');
      const profiles = `prod,$(touch ${canary('spring-profiles')});touch ${canary('spring-profiles')}&&x 'q'`;
      expectedArgs = (port) => [
        `--server.port=${port}`,
        `--spring.profiles.active=${profiles}`,
        '--greeting=hello  world',
        "it's",
        `$(touch ${canary('app-args')})`,
        `\`touch ${canary('app-args')}\``,
        `;touch ${canary('app-args')};`,
        `&& touch ${canary('app-args')}`,
        `| touch ${canary('app-args')}`,
        '*',
        '-rf',
        `--multi=line1\ntouch ${canary('app-args')}`,
        '--dq="quoted"',
        '--empty=',
        '',
      ];
      const jo = canary('java-opts');
      javaOpts = [
        `-Ddemo.odd=a b $(touch ${jo}) \`touch ${jo}\` ;touch ${jo} 'q'`,
        '-Dglob=*',
        `-Dnl=x\ntouch ${jo}`,
      ];
      const env = canary('env');
      const envLines = [
        `DEMO_SUBST=$(touch ${env})`,
        `DEMO_BACKTICK=\`touch ${env}\``,
        `DEMO_SEMI=; touch ${env}; echo`,
        `DEMO_QUOTES='single' "double" it's`,
        'DEMO_SPACES=a  b   c',
        'DEMO_GLOB=*',
        'DEMO_DASH=-rf --x',
        'DEMO_DOLLAR=$HOME ${PATH} $$',
      ];
      expectedEnv = [...envLines, `DEMO_ZSECRET=$(touch ${env}) ;touch ${env}`].map((l) => `env ${l}`).sort();

      // The jar's local file name (it never reaches the host, which stores app.jar; a name cannot hold '/').
      const dir = path.join(local, 'odd jar');
      fs.mkdirSync(dir, { recursive: true });
      oddJar = path.join(
        dir,
        `-demo $(touch jar-canary) \`touch jar-canary\` ;touch jar-canary && x 'q'.jar`,
      );
      fs.copyFileSync(await buildDemoJar({ version: 'odd1' }), oddJar);

      settings = {
        jar: oddJar,
        'remote-dir': oddDir,
        'app-args': appArgs,
        'java-opts': `"-Ddemo.odd=a b \\$(touch ${jo}) \\\`touch ${jo}\\\` ;touch ${jo} 'q'" '-Dglob=*' "-Dnl=x\ntouch ${jo}"`,
        env: envLines.join('\n'),
        'secret-env': `DEMO_ZSECRET=$(touch ${env}) ;touch ${env}`,
        'spring-profiles': profiles,
        'health-path': `/actuator/health?a=$(touch$IFS${canary('health-path')});b=;touch$IFS${canary('health-path')}&&c='q'`,
      };
    });

    afterAll(() => {
      // The jar's name must not have run anywhere a shell could have had as its working directory.
      const homes = ['/home/deploy', '/root', REPO, target.dir, target.remoteDir, oddDir, '/'];
      const found = homes.filter((d) => fs.existsSync(path.join(d, 'jar-canary')));
      check(found.length === 0, `the jar's name ran as a command in ${found.join(', ')}`);
    });

    // Guards: quote() on every value in every remote script (lock, detect, upload, launch, health, switch,
    // drain, prune), splitWords() without expansion, the env file's quoting, and the launcher's "$@".
    test('a deploy with hostile remote-dir, app-args, java-opts, env, profiles, health-path and jar name', async () => {
      fs.copyFileSync(await buildDemoJar({ version: 'odd1' }), oddJar);
      const r = await runAction({ inputs: targetInputs(target, settings) });
      expectSuccess(r);
      const id = r.outputs['release-id'];
      const port = Number(r.outputs['active-port']);

      // The odd remote-dir was used as one literal path.
      expect(fs.statSync(path.join(oddDir, 'releases', id, 'app.jar')).isFile()).toBe(true);
      expect(fs.existsSync(path.join(oddDir, '.deploy.lock'))).toBe(true);
      const app = recordedApp(oddDir, port);
      expect(app.release).toBe(id);
      expect(fs.readlinkSync(`/proc/${app.pid}/cwd`)).toBe(oddDir);

      // The JVM's argv is exactly what was asked for, every word intact.
      const log = appLog(oddDir, id);
      expect(loggedArgs(log)).toEqual(expectedArgs(port));
      expect(argvOf(app.pid).slice(1)).toEqual([
        ...javaOpts,
        '-jar',
        path.join(oddDir, 'releases', id, 'app.jar'),
        ...expectedArgs(port),
      ]);
      expect(loggedEnv(log).sort()).toEqual(expectedEnv);
      expect(await target.get('/')).toEqual({ status: 200, body: `version=odd1 port=${port}\n` });
    });

    // Guards: the same on the paths of a second deploy (stale/old process stop, drain, prune) and a crash
    // (log tail, stop of the new app, undo).
    test('a second deploy and a crashing one to the odd remote-dir', async () => {
      // The app a first deploy to the odd remote-dir left running (deployed here when there is none).
      const running = () =>
        [target.bluePort, target.greenPort]
          .filter((port) => fs.existsSync(path.join(oddDir, 'run', `${port}.pid`)))
          .map((port) => recordedApp(oddDir, port))
          .find((app) => processAlive(app.pid));
      if (!running()) {
        fs.copyFileSync(await buildDemoJar({ version: 'odd1' }), oddJar);
        expectSuccess(await runAction({ inputs: targetInputs(target, settings) }));
      }
      const first = running() as { pid: number };
      fs.copyFileSync(await buildDemoJar({ version: 'odd2' }), oddJar);
      const r = await runAction({ inputs: targetInputs(target, settings) });
      expectSuccess(r);
      const port = Number(r.outputs['active-port']);
      expect(await target.get('/')).toEqual({ status: 200, body: `version=odd2 port=${port}\n` });
      expect(await waitGone(first.pid, 12_000)).toBe(true);
      expect(loggedArgs(appLog(oddDir, r.outputs['release-id']))).toEqual(expectedArgs(port));

      fs.copyFileSync(await buildDemoJar({ version: 'odd3', crash: true }), oddJar);
      const crash = await runAction({
        inputs: targetInputs(target, { ...settings, 'health-timeout': '10' }),
      });
      expectFailure(crash);
      expect(crash.stdout).toContain('crash requested');
      expect(await target.get('/')).toEqual({ status: 200, body: `version=odd2 port=${port}\n` });
    });
  });

  // Guards: release-id validation (it becomes a path and appears in scripts): anything but [A-Za-z0-9._-] is
  // rejected before connecting.
  test.each([
    `x;touch CANARY`,
    'x$(touch CANARY)',
    'x`touch CANARY`',
    "x' && touch CANARY '",
    'x y',
    '../x',
    '.hidden',
  ])('release-id %j is rejected', async (template) => {
    const before = logins(target);
    const r = await deploy(target, 'rid', { 'release-id': template.replace('CANARY', canary('release-id')) });
    expectFailure(r);
    expect(errors(r).join('\n')).toContain('release-id: must be letters, digits');
    expect(logins(target)).toBe(before);
  });

  // Guards: a release-id starting with '-' is only a folder name (every use is an absolute path or follows --).
  test('release-id -rf deploys into releases/-rf and nothing else', async () => {
    const r = await deploy(target, 'rid', { 'release-id': '-rf' });
    expectSuccess(r);
    expect(fs.statSync(path.join(target.remoteDir, 'releases', '-rf', 'app.jar')).isFile()).toBe(true);
    const answer = await target.get('/');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^version=rid /);
  });

  // Guards: a health-path the app refuses to parse (backtick, |, {}: HTTP 400 and `Connection: close`) is never
  // run, only requested; the deploy fails at the health check, stops the new app and ends (the SSH tunnel's
  // sockets close: before the fix, closing them waited forever).
  test('health-path with characters the app rejects fails the health check and ends', async () => {
    const before = await target.get('/');
    const hp = canary('health-path');
    const r = await deploy(target, 'hp', {
      // {{x} is a literal {x} (a lone {x} would be an unknown placeholder, refused before connecting)
      'health-path': `/actuator/health?a=\`touch$IFS${hp}\`|touch$IFS${hp}&b={{x}`,
      'health-timeout': '2',
    });
    expectFailure(r);
    expect(errors(r).join('\n')).toMatch(
      /Health check failed: .*not healthy within 2 s; last answer: HTTP 400/,
    );
    expect(r.durationMs).toBeLessThan(30_000);
    expect(await target.get('/')).toEqual(before);
  });

  describe('odd nginx-include and nginx-config paths (root target)', () => {
    let root: Target;
    let oddInclude: string;
    let oddConfig: string;

    beforeAll(async () => {
      root = await startTarget({ user: 'root' });
      // nginx reads the include named in its (running) config, so point the config at an odd copy of the
      // include, and keep an odd copy of the config for `nginx -c`. No '"' or glob characters: nginx's own syntax.
      const odd = (name: string) =>
        `${root.dir}/nginx/odd ${name} $(touch ${canary(name)}) \`touch ${canary(name)}\` ;touch ${canary(name)} 'q' && -x`;
      oddInclude = `${odd('include')}/service-url.inc`;
      oddConfig = `${odd('config')}/nginx.conf`;
      fs.mkdirSync(path.dirname(oddInclude), { recursive: true });
      fs.mkdirSync(path.dirname(oddConfig), { recursive: true });
      fs.copyFileSync(root.nginxInclude, oddInclude);
      const conf = fs.readFileSync(root.nginxConfig, 'utf8');
      const edited = conf.replace(`include ${root.nginxInclude};`, `include "${oddInclude}";`);
      check(edited !== conf, `no include line to edit in ${root.nginxConfig}`);
      fs.writeFileSync(root.nginxConfig, edited);
      fs.writeFileSync(oddConfig, edited);
      await root.reloadNginx();
    });
    afterAll(async () => {
      await root.stop();
    });

    // Guards: quoting of the include and config paths in the switch script (tee, mv, rm, nginx -c -t/-s reload).
    test('a deploy through them switches nginx and runs nothing', async () => {
      const original = root.readInclude();
      const r = await deploy(root, 'nginx-odd', { 'nginx-include': oddInclude, 'nginx-config': oddConfig });
      expectSuccess(r);
      const port = Number(r.outputs['active-port']);
      expect(fs.readFileSync(oddInclude, 'utf8')).toContain(`set $service_url http://127.0.0.1:${port};`);
      expect(root.readInclude()).toBe(original);
      expect(await root.get('/')).toEqual({ status: 200, body: `version=nginx-odd port=${port}\n` });
    });

    // Guards: the same quoting on the failure path (nginx -t fails, the include is restored).
    test('a hostile nginx-config that does not exist fails the switch, restores the include, runs nothing', async () => {
      // A version served through the odd include (deployed here when this test runs alone).
      if ((await root.get('/')).status !== 200) {
        expectSuccess(
          await deploy(root, 'nginx-odd', { 'nginx-include': oddInclude, 'nginx-config': oddConfig }),
        );
      }
      const serving = await root.get('/');
      expect(serving.body).toMatch(/^version=nginx-odd port=/);
      const before = fs.readFileSync(oddInclude, 'utf8');
      const missing = `/nonexistent $(touch ${canary('config')}) ;touch ${canary('config')}/nginx.conf`;
      const r = await deploy(root, 'nginx-odd2', { 'nginx-include': oddInclude, 'nginx-config': missing });
      expectFailure(r);
      expect(errors(r).join('\n')).toMatch(/Switch nginx failed/);
      expect(fs.readFileSync(oddInclude, 'utf8')).toBe(before);
      expect(await root.get('/')).toEqual(serving);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 4. least privilege

/** `user ALL=(root) NOPASSWD: a, b, c` -> the commands. */
function sudoersCommands(line: string): string[] {
  const m = /^(\S+)\s+ALL=\(root\)\s+NOPASSWD:\s*(.*)$/.exec(line.trim());
  if (!m) throw new Error(`not a sudoers line of the expected form: ${line}`);
  return m[2].split(',').map((c) => c.trim().replace(/\s+/g, ' '));
}

/** A command with its system-specific parts abstracted: program basename, include as INC, no `-c CONFIG`. */
function shape(command: string, include: string, config?: string): string {
  const upstream = path.join(path.dirname(include), 'bluegreen-service-url.conf');
  let c = command.split(upstream).join('UP').split(include).join('INC');
  if (config) c = c.split(` -c ${config}`).join('');
  const [program, ...args] = c.split(' ');
  return [path.basename(program), ...args].join(' ');
}

describe('least privilege', () => {
  const HARNESS_SHAPES = [
    'nginx -t',
    'nginx -T',
    'nginx -s reload',
    'tee INC.tmp',
    'chmod 644 INC.tmp',
    'mv -f INC.tmp INC',
    'rm -f INC.tmp',
    'rm -f INC',
    'tee UP.tmp',
    'chmod 644 UP.tmp',
    'mv -f UP.tmp UP',
    'rm -f UP.tmp',
    'rm -f UP',
  ];

  // Guards: the deploy user the tests use has exactly the narrow line, nothing broader (so every passing
  // deploy in the suite proves the action needs no more).
  test("the deploy user's sudo is exactly the harness's line: nginx -t, nginx -s reload, tee/mv/rm of the include", async () => {
    expect(target.sudoersFile).not.toBeNull();
    expect(fs.readFileSync(target.sudoersFile as string, 'utf8').trim()).toBe(target.sudoersLine);
    const commands = sudoersCommands(target.sudoersLine);
    expect(commands.map((c) => shape(c, target.nginxInclude, target.nginxConfig)).sort()).toEqual(
      [...HARNESS_SHAPES].sort(),
    );
    // Every program is an absolute path (sudo would otherwise match any binary of that name).
    for (const c of commands) expect(c).toMatch(/^\//);

    // What sudo itself grants deploy: only harness target lines (this one, or others' running at the same
    // time), never ALL.
    const { stdout } = await run('sudo', ['-n', '-l', '-U', 'deploy']);
    const body = stdout.replace(/\s+/g, ' ').split(/may run the following commands on [^:]*:/)[1] ?? '';
    const granted = body
      .split(/\((?:[^)]*)\)\s*/)
      .slice(1)
      .flatMap((spec) => spec.replace(/\b[A-Z]+:\s*/g, '').split(','))
      .map((c) => c.trim())
      .filter(Boolean);
    expect(granted.length).toBeGreaterThanOrEqual(commands.length);
    for (const c of granted) expect(c).toMatch(/^\/\S+ .*\/tmp\/bgd-target-/);
    expect(granted.filter((c) => c.includes(target.dir)).sort()).toEqual([...commands].sort());
  });

  // Guards: the README's line (what users install) grants the same command shapes as the line the tests
  // prove sufficient, plus only `systemctl reload nginx`, and is valid sudoers syntax.
  test("the README's sudoers line grants the same command shapes (plus systemctl reload nginx)", async () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    // The nginx line (the supervision section has lines of its own, tested on booted hosts).
    const lines = readme
      .split('\n')
      .filter((l) => l.startsWith('deploy ALL=(root) NOPASSWD:') && l.includes('nginx -t'));
    expect(lines).toHaveLength(1);
    const shapes = sudoersCommands(lines[0]).map((c) => shape(c, '/etc/nginx/conf.d/service-url.inc'));
    expect(shapes.sort()).toEqual([...HARNESS_SHAPES, 'systemctl reload nginx'].sort());
    const file = path.join(local, 'readme-sudoers');
    fs.writeFileSync(file, `${lines[0]}\n`, { mode: 0o440 });
    await run('visudo', ['-c', '-q', '-f', file]);
  });

  // Guards: `sudo: never` really runs no sudo, and a refused switch changes nothing: the include is restored,
  // the previous version keeps serving, the new app is stopped.
  test('sudo: never as the deploy user fails at the switch; the previous version keeps serving', async () => {
    expectSuccess(await deploy(target, 'lp1'));
    const before = await target.get('/');
    expect(before.body).toMatch(/^version=lp1 port=\d+\n$/);
    const include = target.readInclude();

    const r = await deploy(target, 'lp2', { sudo: 'never' });
    expectFailure(r);
    expect(errors(r).join('\n')).toMatch(
      /127\.0\.0\.1:\d+: Switch nginx failed: switch nginx to port \d+ failed with exit code 31/,
    );
    expect(r.stdout).toMatch(/::group::Health check/); // it got as far as the switch
    expect(target.readInclude()).toBe(include);
    expect(fs.existsSync(`${target.nginxInclude}.tmp`)).toBe(false);
    expect(await target.get('/')).toEqual(before);
    const idle = Number(/Launch on (\d+)/.exec(r.stdout)?.[1]);
    expect(target.listening(idle)).toBe(false);
    expect(r.stdout).not.toMatch(/sudo: a password is required/);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. failing remote commands

describe('a failed remote command fails the step with its exit code and stderr', () => {
  // Guards: execution errors are not swallowed: the Lock step fails, naming the exit code and the host's own
  // explanation (create the directory), and nothing else runs.
  test('a remote-dir the deploy user cannot create fails the Lock step', async () => {
    const forbidden = `/root/forbidden-${randomBytes(4).toString('hex')}`;
    const r = await deploy(target, 'forbidden', { 'remote-dir': forbidden });
    expectFailure(r);
    const message = errors(r).join('\n');
    expect(message).toMatch(/127\.0\.0\.1:\d+: Lock failed: .*exit code 70/);
    expect(message).toContain(
      `cannot create ${forbidden}: create it on the host and make the deploy user its owner`,
    );
    expect(r.stdout).not.toMatch(/::group::Detect ports/);
    expect(r.summary).toMatch(/\| Lock \| ❌ failed \|/);
    expect(fs.existsSync(forbidden)).toBe(false);
  });
});
