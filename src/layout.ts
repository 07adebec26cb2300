// Where things live under remote-dir on the host. One place, so every command agrees.
export interface Layout {
  root: string;
  releases: string;
  runDir: string;
  lockFile: string;
  lockInfo: string;
  /** Records the launched-but-not-yet-switched app, so a dead session's watchdog can stop it. */
  pending: string;
  /** The deploy history: JSON lines, two per run (src/history.ts). */
  history: string;
  /** The id of the run whose history record is open (its end not written yet), for the lock's watchdog. */
  historyOpen: string;
  release(id: string): string;
  jar(id: string): string;
  /** The app's environment for one port (env and secret-env, placeholders replaced for that port). */
  envFile(id: string, port: number): string;
  /** The one env file of a release uploaded by an earlier version of the action. */
  legacyEnvFile(id: string): string;
  log(id: string): string;
  pidFile(port: number): string;
}

export function layout(remoteDir: string): Layout {
  const root = remoteDir;
  const releases = `${root}/releases`;
  const runDir = `${root}/run`;
  return {
    root,
    releases,
    runDir,
    lockFile: `${root}/.deploy.lock`,
    lockInfo: `${root}/.deploy.lock.info`,
    pending: `${runDir}/pending`,
    history: `${root}/history.jsonl`,
    historyOpen: `${runDir}/history.open`,
    release: (id) => `${releases}/${id}`,
    jar: (id) => `${releases}/${id}/app.jar`,
    envFile: (id, port) => `${releases}/${id}/app-${port}.env`,
    legacyEnvFile: (id) => `${releases}/${id}/app.env`,
    log: (id) => `${releases}/${id}/app.log`,
    pidFile: (port) => `${runDir}/${port}.pid`,
  };
}
