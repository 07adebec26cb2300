// The run in the host's history (src/history.ts): its start once the lock is held (history writes are
// serialized by it), its end before the lock is released. From the start on, run/history.open names the run,
// so the lock's watchdog ends the record as `interrupted` if the session dies before the end is written.
import { appendHistory } from '../commands/history.js';
import { recordLine, type EndRecord, type HistoryMode, type Result } from '../history.js';
import type { HostContext } from './context.js';
import { DeployCancelled } from './context.js';
import { StepError } from './runner.js';

export interface RunStart {
  mode: HistoryMode;
  release?: string;
  sha256?: string;
  reason?: string;
}

/** Fails when the history cannot be written: no run goes unrecorded. Nothing was changed yet. */
export async function recordStart(ctx: HostContext, start: RunStart): Promise<void> {
  const { id, info } = ctx.run;
  const line = recordLine({
    v: 1,
    event: 'start',
    id,
    ...start,
    ...info,
    started: new Date(ctx.clock.now()).toISOString(),
  });
  try {
    await ctx.host.run(appendHistory(ctx.paths, line, { open: id }));
  } catch (error) {
    // Named like a step's failure, so the annotation says where the run stopped.
    const why = `cannot record the run in ${ctx.paths.history}; nothing was changed: ${(error as Error).message}`;
    throw new StepError('History', new Error(why, { cause: error }));
  }
}

export type RunEnd = Pick<EndRecord, 'release' | 'port' | 'previous' | 'step' | 'error'> & { result: Result };

/** How a failed run ends in the history: cancelled or failed, at the step it was in. */
export function failedEnd(ctx: HostContext, error: unknown): RunEnd {
  const cancelled =
    error instanceof DeployCancelled ||
    (error instanceof StepError && error.cause instanceof DeployCancelled);
  const records = ctx.steps.records;
  const step = error instanceof StepError ? error.step : records[records.length - 1]?.name;
  return {
    result: cancelled ? 'cancelled' : 'failed',
    ...(ctx.state.releaseId ? { release: ctx.state.releaseId } : {}),
    ...(ctx.state.servingPort !== undefined ? { port: ctx.state.servingPort } : {}),
    ...previousOf(ctx),
    ...(step ? { step } : {}),
    error: (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 500),
  };
}

export function previousOf(ctx: HostContext): Pick<EndRecord, 'previous'> {
  const { previousRelease: release, previousPort: port } = ctx.state;
  if (release === undefined && port === undefined) return {};
  return { previous: { ...(release ? { release } : {}), ...(port !== undefined ? { port } : {}) } };
}

/** A failure to write the end is a warning: the run itself is over; the watchdog marks it interrupted. */
export async function recordEnd(ctx: HostContext, end: RunEnd): Promise<void> {
  const line = recordLine({
    v: 1,
    event: 'end',
    id: ctx.run.id,
    ended: new Date(ctx.clock.now()).toISOString(),
    ...end,
  });
  await ctx.host
    .run(appendHistory(ctx.paths, line, { close: true }))
    .catch((error: unknown) =>
      ctx.log.warning(
        `could not record the end of the run in ${ctx.paths.history}: ${(error as Error).message}`,
      ),
    );
}
