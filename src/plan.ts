// Pure decision from what detection saw: which port is live, which is idle, what must be stopped or refused.
import type { Detection, PortState } from './commands/detect.js';

export interface ProcessRef {
  pid: number;
  start: string;
}

export interface PortPlan {
  /** The port nginx routes to and where something listens; undefined on a first deploy. */
  live?: number;
  idle: number;
  /** A stale process of ours on the idle port, to stop gracefully before launching. */
  staleOnIdle?: ProcessRef;
  /** The process serving the live port, to stop after the switch (ours, or the visible listener). */
  oldProcess?: ProcessRef & { ours: boolean; command?: string };
  notes: string[];
}

export class PortConflictError extends Error {}

function describe(state: PortState): string {
  return state.listener
    ? `pid ${state.listener.pid} (${state.listener.command || 'unknown command'})`
    : 'a process the deploy user cannot see (owned by another user)';
}

export function planPorts(d: Detection, blue: number, green: number): PortPlan {
  const notes: string[] = [];
  const state = (port: number): PortState => d.ports.get(port) ?? { port, listening: false };
  const usable = (port: number) => !state(port).listening || state(port).ours !== undefined;

  let live: number | undefined;
  if (d.includePort !== undefined && state(d.includePort).listening) {
    live = d.includePort;
  } else if (d.include !== 'present') {
    notes.push(`the nginx include is ${d.include}: this is a first deploy, it will be written`);
  } else if (d.includePort === undefined) {
    notes.push('the nginx include has no `set $service_url` line: it will be written');
  } else {
    notes.push(`the nginx include points to port ${d.includePort}, where nothing listens: first deploy`);
  }

  let idle: number;
  if (live === blue) idle = green;
  else if (live === green) idle = blue;
  else idle = !usable(blue) && usable(green) ? green : blue;

  const idleState = state(idle);
  if (idleState.listening && !idleState.ours) {
    throw new PortConflictError(
      `idle port ${idle} is held by ${describe(idleState)}, which this action did not start; ` +
        'refusing to touch it. Stop it, or choose other blue-port/green-port values.',
    );
  }

  const plan: PortPlan = { live, idle, notes };
  if (idleState.ours) plan.staleOnIdle = { pid: idleState.ours.pid, start: idleState.ours.start };

  if (live !== undefined) {
    const liveState = state(live);
    if (liveState.ours) {
      plan.oldProcess = { pid: liveState.ours.pid, start: liveState.ours.start, ours: true };
    } else if (liveState.listener) {
      const { pid, start, command } = liveState.listener;
      plan.oldProcess = { pid, start, ours: false, command };
      notes.push(
        `port ${live} is served by pid ${pid} (${command}), not started by this action; it is stopped after the switch`,
      );
    } else {
      notes.push(
        `the process on port ${live} is not visible to the deploy user; it is left running after the switch`,
      );
    }
  }
  return plan;
}
