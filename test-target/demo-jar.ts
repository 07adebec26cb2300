// Builds the demo Spring-Boot-like jar (test-target/demo-app/DemoApp.java) with a baked-in demo.properties.
// Jars are cached and reproducible: the same options give the same bytes.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Absolute path of the repository root. */
export const REPO_ROOT = path.resolve(HERE, '..');
/** Absolute path of the demo app's Java source. */
export const DEMO_SOURCE = path.join(HERE, 'demo-app', 'DemoApp.java');
/** Default cache directory for compiled classes and jars. */
export const DEFAULT_JAR_CACHE = path.join(REPO_ROOT, '.test-output', 'jars');

/** Fixed jar entry timestamp, so that equal options give byte-identical jars. */
const JAR_DATE = '2024-01-01T00:00:00Z';

export interface DemoJarOptions {
  /** Baked into demo.properties as `version`; `GET /` answers `version=<v> port=<p>`. */
  version: string;
  /** Sleep this long before listening (default 0). */
  startDelayMs?: number;
  /** `/actuator/health` answers 200 `{"status":"UP"}` or 503 `{"status":"DOWN"}` (default UP). */
  health?: 'UP' | 'DOWN';
  /** Print an error and exit 1 after the start delay, before listening. */
  crash?: boolean;
  /** Every request carrying an X-Forwarded-For header gets HTTP 500. */
  brokenBehindProxy?: boolean;
  /** How long SIGTERM waits for in-flight requests (default 10000). */
  shutdownGraceMs?: number;
  /** Exit (status 1, like a crash) this long after the first healthy answer of /actuator/health. */
  dieAfterHealthyMs?: number;
  /** This long after the first healthy answer, /actuator/health answers 503 DOWN and `/` 503. */
  badAfterHealthyMs?: number;
  /** Start a child process that ignores SIGTERM (a forking app). */
  forkChild?: boolean;
  /** The SIGTERM handler never finishes: only SIGKILL ends the app. */
  hangOnSigterm?: boolean;
  /**
   * Where the app reads its port: `--server.port=N` (arg, the default), the `PORT` variable alone (env), or the
   * system property `-Ddemo.http.port=N` alone (property). `--management.server.port=N` always moves the health
   * endpoint to that port; `--demo.touch-file=PATH` writes PATH at start.
   */
  portFrom?: 'arg' | 'env' | 'property';
  /** Listen on this port instead of --server.port (0: any free port): a build that ignores the port it is given. */
  listenPort?: number;
  /** Jar file name (default `demo-<version>.jar`). */
  name?: string;
  /** Cache directory (default `<repo>/.test-output/jars`). */
  cacheDir?: string;
}

const classesByDir = new Map<string, Promise<string>>();
const jarsByPath = new Map<string, Promise<string>>();

function jdkTool(tool: string): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(path.join(home, 'bin', tool))) return path.join(home, 'bin', tool);
  return tool;
}

async function run(file: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(file, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

async function rmQuiet(p: string): Promise<void> {
  await fsp.rm(p, { recursive: true, force: true }).catch(() => undefined);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function tmpSuffix(): string {
  return `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Compiles DemoApp.java once per (cache dir, source content); concurrent callers, in this
 * process or in others, share the result (compile into a temp dir, then atomic rename).
 * Returns the classes directory.
 */
function compiledClasses(cacheDir: string, sourceHash: string): Promise<string> {
  const classesDir = path.join(cacheDir, `classes-${sourceHash.slice(0, 16)}`);
  let pending = classesByDir.get(classesDir);
  if (!pending) {
    pending = (async () => {
      if (existsSync(path.join(classesDir, 'DemoApp.class'))) return classesDir;
      await fsp.mkdir(cacheDir, { recursive: true });
      const tmp = classesDir + tmpSuffix();
      try {
        await fsp.mkdir(tmp, { recursive: true });
        await run(jdkTool('javac'), ['--release', '17', '-nowarn', '-d', tmp, DEMO_SOURCE]);
        try {
          await fsp.rename(tmp, classesDir);
        } catch (err) {
          // Another process won the race: use its (identical) result.
          if (!existsSync(path.join(classesDir, 'DemoApp.class'))) throw err;
        }
      } finally {
        await rmQuiet(tmp);
      }
      return classesDir;
    })();
    classesByDir.set(classesDir, pending);
    pending.catch(() => classesByDir.delete(classesDir));
  }
  return pending;
}

/** The demo.properties text that buildDemoJar bakes into the jar for these options. */
export function demoProperties(opts: DemoJarOptions): string {
  const lines = [`version=${opts.version}`];
  if (opts.startDelayMs !== undefined) lines.push(`start-delay-ms=${Math.round(opts.startDelayMs)}`);
  if (opts.health !== undefined) lines.push(`health=${opts.health}`);
  if (opts.crash !== undefined) lines.push(`crash=${opts.crash ? 'true' : 'false'}`);
  if (opts.brokenBehindProxy !== undefined) {
    lines.push(`broken-behind-proxy=${opts.brokenBehindProxy ? 'true' : 'false'}`);
  }
  if (opts.shutdownGraceMs !== undefined) lines.push(`shutdown-grace-ms=${Math.round(opts.shutdownGraceMs)}`);
  if (opts.dieAfterHealthyMs !== undefined)
    lines.push(`die-after-healthy-ms=${Math.round(opts.dieAfterHealthyMs)}`);
  if (opts.badAfterHealthyMs !== undefined)
    lines.push(`bad-after-healthy-ms=${Math.round(opts.badAfterHealthyMs)}`);
  if (opts.forkChild) lines.push('fork-child=true');
  if (opts.hangOnSigterm) lines.push('hang-on-sigterm=true');
  if (opts.listenPort !== undefined) lines.push(`listen-port=${Math.round(opts.listenPort)}`);
  if (opts.portFrom !== undefined) lines.push(`port-from=${opts.portFrom}`);
  return lines.join('\n') + '\n';
}

/**
 * Builds (or reuses) a demo jar for the given options and returns its absolute path:
 * `<repo>/.test-output/jars/<hash of opts>/demo-<version>.jar` (or `<name>` when given).
 * Jars are reproducible: the same options give the same bytes, different versions different sha256.
 */
export async function buildDemoJar(opts: DemoJarOptions): Promise<string> {
  if (opts.version === '') {
    throw new Error('buildDemoJar: opts.version (non-empty string) is required');
  }
  if (/[\r\n]/.test(opts.version)) throw new Error('buildDemoJar: version must be a single line');
  const fileName = opts.name ?? `demo-${opts.version}.jar`;
  if (fileName.includes('/') || fileName === '' || fileName.startsWith('.')) {
    throw new Error(`buildDemoJar: invalid jar name ${JSON.stringify(fileName)}`);
  }
  const cacheDir = path.resolve(opts.cacheDir ?? DEFAULT_JAR_CACHE);
  const source = await fsp.readFile(DEMO_SOURCE, 'utf8');
  const sourceHash = sha256(source);
  const props = demoProperties(opts);
  const key = sha256(JSON.stringify({ sourceHash, props, fileName, date: JAR_DATE })).slice(0, 16);
  const jarDir = path.join(cacheDir, key);
  const jarPath = path.join(jarDir, fileName);

  let pending = jarsByPath.get(jarPath);
  if (!pending) {
    pending = (async () => {
      if (existsSync(jarPath)) return jarPath;
      const classesDir = await compiledClasses(cacheDir, sourceHash);
      await fsp.mkdir(jarDir, { recursive: true });
      const work = path.join(jarDir, tmpSuffix().slice(1));
      try {
        await fsp.mkdir(path.join(work, 'res'), { recursive: true });
        await fsp.writeFile(path.join(work, 'res', 'demo.properties'), props);
        const tmpJar = path.join(work, fileName);
        await run(jdkTool('jar'), [
          '--create',
          '--file',
          tmpJar,
          '--main-class',
          'DemoApp',
          `--date=${JAR_DATE}`,
          '-C',
          classesDir,
          '.',
          '-C',
          path.join(work, 'res'),
          'demo.properties',
        ]);
        await fsp.rename(tmpJar, jarPath);
      } finally {
        await rmQuiet(work);
      }
      return jarPath;
    })();
    jarsByPath.set(jarPath, pending);
    pending.catch(() => jarsByPath.delete(jarPath));
  }
  return pending;
}
