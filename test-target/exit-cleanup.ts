// Whatever a test could not stop is killed when the process exits: targets register here while they run.

/** Something with a synchronous, best-effort teardown. */
export interface KillOnExit {
  killOnExit(): void;
}

const live = new Set<KillOnExit>();
let installed = false;

/** t.killOnExit() runs when this process exits, unless forgotten first. */
export function killOnExit(t: KillOnExit): void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const item of live) item.killOnExit();
    });
  }
  live.add(t);
}

/** Stopped (or deliberately kept): nothing to do on exit. */
export function forget(t: KillOnExit): void {
  live.delete(t);
}
