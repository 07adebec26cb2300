// action.yml inputs -> one typed, validated Settings object. Every problem is reported at once, naming the
// input and the fix, before any connection is attempted. Inputs are read in a fixed order: the order of the
// problems in the error.
import { Checker } from './checker.js';
import { readConnection } from './connection.js';
import { checkPlaceholders, readHealthPort, readPortArg } from './per-port.js';
import { makeReleaseId, releaseIdProblem, resolveJar, sha256File } from './release.js';
import { MODES, SettingsError, type InputReader, type Jar, type Mode, type Settings } from './settings.js';

const HTTP_URL = /^http:\/\/[A-Za-z0-9.[\]:-]+(:\d+)?(\/[\x21-\x7e]*)?$/;

/** The two ports, what is checked over HTTP, and the java command line. */
function readApp(c: Checker) {
  const bluePort = c.port('blue-port', 8080);
  const greenPort = c.port('green-port', 8081);
  if (bluePort === greenPort) c.fail('green-port', `must differ from blue-port (both are ${bluePort})`);

  const healthPath = c.raw('health-path') || '/actuator/health';
  if (!/^\/[\x21-\x7e]*$/.test(healthPath)) {
    c.fail('health-path', `must be a URL path starting with / and without spaces, got "${healthPath}"`);
  }
  const verifyUrl = c.raw('verify-url') || undefined;
  if (verifyUrl !== undefined && !HTTP_URL.test(verifyUrl)) {
    c.fail(
      'verify-url',
      `must be an http:// URL as seen from the host, e.g. http://127.0.0.1/actuator/health`,
    );
  }

  const java = c.raw('java') || 'java';
  if (/[\0\n\r]/.test(java)) c.fail('java', 'must not contain newlines');
  const appArgs = c.words('app-args');
  const profiles = c.raw('spring-profiles');
  if (profiles !== '') appArgs.unshift(`--spring.profiles.active=${profiles}`);
  const portArg = readPortArg(c);
  const healthPort = readHealthPort(c, { bluePort, greenPort });
  return { bluePort, greenPort, healthPath, verifyUrl, java, appArgs, portArg, healthPort, profiles };
}

/** Paths, timeouts and modes: each one input with a default. */
function readOptions(c: Checker) {
  return {
    connectTimeoutMs: c.seconds('connect-timeout', 20, 1),
    commandTimeoutMs: c.seconds('command-timeout', 60, 1),
    remoteDir: c.absolutePath('remote-dir', '/opt/app'),
    keepReleases: c.number('keep-releases', { min: 1, integer: true }, 5),
    javaOpts: c.words('java-opts'),
    env: c.envLines('env'),
    secretEnv: c.envLines('secret-env'),
    healthExpect: c.raw('health-expect') || 'UP',
    healthTimeoutMs: c.seconds('health-timeout', 120, 1),
    healthProbeTimeoutMs: c.seconds('health-probe-timeout', 5, 0.1),
    healthIntervalMs: c.seconds('health-interval', 0.25, 0.05),
    nginxInclude: c.absolutePath('nginx-include', '/etc/nginx/conf.d/service-url.inc'),
    nginxConfig: c.optionalPath('nginx-config'),
    nginxUpstreamFile: c.optionalPath('nginx-upstream-file'),
    bakeTimeMs: c.seconds('bake-time', 10),
    nginxReload: c.choice('nginx-reload', ['auto', 'systemctl', 'service', 'signal'] as const, 'auto'),
    sudo: c.choice('sudo', ['auto', 'always', 'never'] as const, 'auto'),
    drainTimeoutMs: c.seconds('drain-timeout', 30),
    stopTimeoutMs: c.seconds('stop-timeout', 30),
    awaitStop: c.boolean('await-stop', false),
    lockTimeoutMs: c.seconds('lock-timeout', 300),
  };
}

/** Letters, digits, - and _: a unit name that needs no escaping anywhere (systemd, sudoers, sh). */
const SERVICE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A remote-dir that a unit file can name without systemd's quoting, specifiers or escapes. */
const UNIT_PATH = /^\/[A-Za-z0-9._/+-]*$/;

/** supervisor and service-name; with systemd, remote-dir must be a path a unit file can name as it is. */
function readSupervision(c: Checker, remoteDir: string) {
  const supervisor = c.choice('supervisor', ['none', 'systemd', 'systemd-user'] as const, 'none');
  const serviceName = c.raw('service-name') || 'app';
  if (!SERVICE_NAME.test(serviceName)) {
    c.fail('service-name', `must be 1 to 64 letters, digits, "-" or "_", got "${serviceName}"`);
  }
  if (supervisor !== 'none' && !UNIT_PATH.test(remoteDir)) {
    c.fail(
      'remote-dir',
      `must consist of letters, digits, ".", "_", "+", "-" and "/" with supervisor: ${supervisor} (a unit file names it), got "${remoteDir}"`,
    );
  }
  return { supervisor, serviceName };
}

export async function readSettings(read: InputReader, now = new Date()): Promise<Settings> {
  const c = new Checker(read);
  const mode = c.choice('mode', MODES, 'deploy');
  const connection = readConnection(c);
  const { profiles, healthPort, ...app } = readApp(c);
  const batchSize = c.number('batch-size', { min: 1, integer: true }, 1);
  const rollbackOnFailure = c.boolean('rollback-on-failure', true);
  // Only a deploy needs the jar; preflight checks the free space for it when it is given.
  const jarPattern = mode === 'deploy' ? c.required('jar') : mode === 'preflight' ? c.raw('jar') : '';
  const options = readOptions(c);
  checkPlaceholders(c, { ...app, ...options }, profiles);
  const settings: Omit<Settings, 'jar' | 'releaseId'> = {
    mode,
    ...connection,
    batchSize,
    rollbackOnFailure,
    ...app,
    ...(healthPort === undefined ? {} : { healthPort }),
    ...options,
    ...readSupervision(c, options.remoteDir),
  };

  // The jar is looked at last and only when the rest is valid, so a bad input fails fast and cheaply.
  const jar = c.problems.length === 0 && jarPattern !== '' ? await readJar(c, jarPattern) : undefined;
  if (c.problems.length > 0) throw new SettingsError(c.problems);
  const releaseId = readReleaseId(c.raw('release-id'), mode, jar, now);
  return { ...settings, ...(jar ? { jar } : {}), ...(releaseId ? { releaseId } : {}) };
}

async function readJar(c: Checker, pattern: string): Promise<Jar | undefined> {
  const path = await resolveJar(c, pattern);
  if (path === undefined) return undefined;
  const { sha256, bytes } = await sha256File(path);
  return { path, sha256, bytes };
}

/** deploy: the input or a generated id; rollback: the input (none: the previous good release); else unused. */
function readReleaseId(input: string, mode: Mode, jar: Jar | undefined, now: Date): string | undefined {
  const id = mode === 'deploy' && input === '' && jar ? makeReleaseId(now, jar.sha256) : input;
  if (id === '' || mode === 'status' || mode === 'preflight') return undefined;
  const problem = releaseIdProblem(id);
  if (problem !== undefined) throw new SettingsError([problem]);
  return id;
}
