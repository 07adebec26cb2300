// Processes seen through /proc: listing, liveness (zombies count as gone), descendants, signals, and stopping
// a set of PIDs with a grace period. Nothing here matches processes by name: callers pass PIDs.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { readQuiet } from './exec.js';
import { becomes } from './wait.js';

export interface ProcInfo {
  pid: number;
  /** /proc/PID/cmdline with NULs turned into spaces. */
  cmdline: string;
}

export interface ProcEntry extends ProcInfo {
  ppid: number;
  argv: string[];
}

/** The fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]; [] when gone. */
function statFields(pid: number): string[] {
  const stat = readQuiet(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : [];
}

/** True when the process exists and is not a zombie (PID 1 here may never reap orphans). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = statFields(pid).at(0);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Sends sig to pid; a process that is already gone is not an error. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Every live, non-kernel process. */
export function listProcesses(): ProcEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const raw = readQuiet(`/proc/${pid}/cmdline`);
    if (raw === '') continue; // kernel thread, zombie, or exited meanwhile
    const fields = statFields(pid);
    if (fields.length === 0 || fields[0] === 'Z' || fields[0] === 'X') continue;
    const argv = raw.replace(/\0$/, '').split('\0');
    out.push({ pid, ppid: Number(fields[1]), cmdline: argv.join(' '), argv });
  }
  return out;
}

/** The working directory of pid, or '' when unknown. */
export function cwdOf(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/** `net:[inode]` of pid's network namespace, or '' when gone. */
export function netnsOf(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return '';
  }
}

/** PIDs of all live descendants of rootPid. */
export function descendants(rootPid: number, procs: ProcEntry[] = listProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const result: number[] = [];
  const stack = [rootPid];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    for (const c of children.get(pid) ?? []) {
      result.push(c);
      stack.push(c);
    }
  }
  return result;
}

/** `<pid> <start time>` of a process: a PID that cannot be mistaken for a later process with the same number. */
export function processStamp(pid: number = process.pid): string {
  return `${pid} ${statFields(pid)[19] ?? ''}`;
}

/** Resolves true once pid has exited (or is a zombie), false if it is still alive after timeoutMs. */
export function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  return becomes(() => !processAlive(pid), { timeoutMs, intervalMs: 25 });
}

/** Sends sig to every live pid, waits up to graceMs for all to exit, then SIGKILLs the rest and waits again. */
export async function terminate(pids: number[], sig: NodeJS.Signals, graceMs: number): Promise<void> {
  const live = pids.filter(processAlive);
  if (!live.length) return;
  for (const pid of live) signal(pid, sig);
  await becomes(() => !live.some(processAlive), { timeoutMs: graceMs, intervalMs: 25 });
  const rest = live.filter(processAlive);
  for (const pid of rest) signal(pid, 'SIGKILL');
  await becomes(() => !rest.some(processAlive), { timeoutMs: 5000, intervalMs: 25 });
}

/**
 * Stops a child this process spawned, by its PID: SIGTERM, SIGKILL after graceMs; resolves once it has exited
 * (its 'close' event, so its output is complete). A child that has already exited is left alone.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  await terminate([child.pid], 'SIGTERM', graceMs);
  await closed;
}
