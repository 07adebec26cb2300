// Types for demo-jar.js (hand-written; the .js file is plain ESM).

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
  /** Jar file name (default `demo-<version>.jar`). */
  name?: string;
  /** Cache directory (default `<repo>/.test-output/jars`). */
  cacheDir?: string;
}

export declare const REPO_ROOT: string;
export declare const DEMO_SOURCE: string;
export declare const DEFAULT_JAR_CACHE: string;

/** The demo.properties text that buildDemoJar bakes into the jar for these options. */
export declare function demoProperties(opts: DemoJarOptions): string;

/** Absolute path of a (cached, reproducible) demo jar built for these options. */
export declare function buildDemoJar(opts: DemoJarOptions): Promise<string>;
