// The deploy, as the runner sees it: read and check the inputs, roll the release across the hosts, report.
import * as core from '@actions/core';
import { runInfo } from './history.js';
import { HostKeyError } from './host-key.js';
import { readSettings, SettingsError, type Settings } from './inputs.js';
import { actionsLog } from './log.js';
import { secretValues } from './per-port.js';
import { report, reportEarlyFailure } from './report.js';
import { rollout, type Connector } from './rollout.js';
import { sshConnector } from './ssh.js';

/** `connectFor` is the SSH connector; a unit test passes a fake host instead. */
export async function run(connectFor: (settings: Settings) => Connector = sshConnector): Promise<void> {
  const started = Date.now();
  maskSecretInputs();
  const signal = cancelOnSignals();
  try {
    const settings = await readSettings((name) => core.getInput(name));
    for (const value of secretValues(settings)) core.setSecret(value);
    const connect = connectFor(settings);
    const result = await rollout({
      settings,
      connect,
      log: actionsLog,
      lockHolder: lockHolder(),
      runInfo: runInfo(process.env),
      signal,
    });
    await report(result, Date.now() - started);
  } catch (error) {
    // Inputs and host keys are reported as they are; anything else is a bug: its stack helps.
    const message = error instanceof Error ? error.message : String(error);
    const known = error instanceof SettingsError || error instanceof HostKeyError;
    await reportEarlyFailure(known || !(error instanceof Error) ? message : (error.stack ?? message));
  }
}

/** Before anything else can print them. */
function maskSecretInputs(): void {
  for (const name of ['private-key', 'passphrase', 'jump-private-key', 'jump-passphrase']) {
    const value = core.getInput(name);
    if (!value) continue;
    core.setSecret(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) core.setSecret(line.trim());
  }
}

/** A cancelled workflow run sends SIGINT, then SIGTERM: stop at the next step, undo, keep the old version. */
function cancelOnSignals(): AbortSignal {
  const cancel = new AbortController();
  const onSignal = (name: string) => () => {
    core.warning(`received ${name}: cancelling the deploy; the old version keeps serving`);
    cancel.abort();
  };
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));
  return cancel.signal;
}

function lockHolder(): string {
  const e = process.env;
  const run = e.GITHUB_RUN_ID
    ? `run ${e.GITHUB_RUN_ID}${e.GITHUB_RUN_ATTEMPT ? `.${e.GITHUB_RUN_ATTEMPT}` : ''}`
    : `pid ${process.pid}`;
  const who = e.GITHUB_ACTOR ? ` by ${e.GITHUB_ACTOR}` : '';
  const repo = e.GITHUB_REPOSITORY ? ` of ${e.GITHUB_REPOSITORY}` : '';
  return `${run}${who}${repo} since ${new Date().toISOString()}`;
}
