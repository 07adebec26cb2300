// What every step of one host's deploy gets: the settings, the host's executor, the log and step runner, and
// the state established so far (which a failed deploy's outcome is read from).
import type { NginxSpec } from '../commands/nginx.js';
import { newRunId, type RunInfo } from '../history.js';
import type { Settings } from '../inputs.js';
import { layout, type Layout } from '../layout.js';
import type { Log } from '../log.js';
import type { Executor } from '../remote.js';
import type { StepRunner } from './runner.js';

/** What is known to be true on the host so far. */
export interface HostState {
  /** The release folder this deploy claimed (the release-id, or release-id-N). */
  releaseId?: string;
  /** The port nginx routed to before this deploy; undefined on a first deploy. */
  previousPort?: number;
  /** The release that served before this deploy (from our pid file on the live port), when known. */
  previousRelease?: string;
  /** The port nginx routes to now, as far as this deploy knows. */
  servingPort?: number;
}

export interface HostContext {
  settings: Settings;
  host: Executor;
  steps: StepRunner;
  log: Log;
  paths: Layout;
  nginx: NginxSpec;
  /** Who holds the lock, as shown to a concurrent run: run id, actor, time. */
  lockHolder: string;
  signal?: AbortSignal;
  /** Time, injectable so that tests of polling steps run on a fake clock. */
  clock: Clock;
  state: HostState;
  undo: UndoList;
  /** This run in the host's history: its id there, and who started it. */
  run: { id: string; info: RunInfo };
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export type HostContextInit = Pick<
  HostContext,
  'settings' | 'host' | 'steps' | 'log' | 'lockHolder' | 'signal'
> &
  Partial<Pick<HostContext, 'clock'>> & { runInfo?: RunInfo };

export function hostContext(init: HostContextInit): HostContext {
  const s = init.settings;
  const { runInfo, ...rest } = init;
  const clock = init.clock ?? realClock;
  return {
    ...rest,
    clock,
    run: { id: newRunId(new Date(clock.now())), info: runInfo ?? {} },
    paths: layout(s.remoteDir),
    nginx: { config: s.nginxConfig, reload: s.nginxReload, sudo: s.sudo },
    state: {},
    undo: new UndoList(),
  };
}

export class DeployCancelled extends Error {
  constructor() {
    super('the deploy was cancelled');
    this.name = 'DeployCancelled';
  }
}

/** Between steps: a cancelled run stops here, and what was started is undone. */
export function checkCancelled(ctx: HostContext): void {
  if (ctx.signal?.aborted) throw new DeployCancelled();
}

/** What to undo, newest first, if a step fails before nginx routes to the new app. */
export class UndoList {
  private readonly actions: { what: string; run: () => Promise<unknown> }[] = [];

  push(what: string, run: () => Promise<unknown>): void {
    this.actions.push({ what, run });
  }

  /** From the switch on, nothing may stop the app nginx routes to. */
  clear(): void {
    this.actions.length = 0;
  }

  async runAll(log: Log): Promise<void> {
    for (const action of this.actions.splice(0).reverse()) {
      log.info(`undo: ${action.what}`);
      await action
        .run()
        .catch((e: unknown) => log.warning(`could not ${action.what}: ${(e as Error).message}`));
    }
  }
}
