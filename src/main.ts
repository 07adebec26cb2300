// The deploy, as the runner sees it: read and check the inputs, roll the release across the hosts, report.
import * as core from '@actions/core';
import { HostKeyError } from './host-key.js';
import { readSettings, SettingsError, type Settings } from './inputs.js';
import { actionsLog } from './log.js';
import { hostLabel, rollout, type Connector } from './rollout.js';
import { connectSsh } from './ssh.js';
import { summaryMarkdown, type HostOutcome } from './summary.js';

export async function run(): Promise<void> {
  const started = Date.now();
  maskSecretInputs();
  const cancel = new AbortController();
  const onSignal = (name: string) => () => {
    core.warning(`received ${name}: cancelling the deploy; the old version keeps serving`);
    cancel.abort();
  };
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));

  try {
    const settings = await readSettings((name) => core.getInput(name));
    for (const [, value] of settings.secretEnv) if (value) core.setSecret(value);

    const connect: Connector = (target, log) =>
      connectSsh({
        host: target.host,
        port: target.port,
        username: settings.username,
        privateKey: settings.privateKey,
        passphrase: settings.passphrase,
        policy: { entries: settings.knownHosts, fingerprints: settings.hostFingerprints },
        jump: settings.jump && {
          ...settings.jump,
          policy: { entries: settings.jump.knownHosts, fingerprints: settings.jump.hostFingerprints },
        },
        strictHostKeyChecking: settings.strictHostKeyChecking,
        timeoutMs: settings.connectTimeoutMs,
        log,
      });
    const result = await rollout(settings, connect, actionsLog, lockHolder(), cancel.signal);
    const durationMs = Date.now() - started;
    setOutputs(settings, result.outcomes, durationMs);
    await core.summary.addRaw(summaryMarkdown(result.outcomes, result.steps, durationMs)).write();

    const failed = result.outcomes.filter((o) => !o.ok);
    if (failed.length > 0) {
      core.setFailed(failed.map((o) => `${o.host}: ${o.error}`).join('\n'));
    } else {
      core.info(
        `Deployed ${result.outcomes.map((o) => `${o.releaseId} to ${o.host} (port ${o.activePort})`).join(', ')}`,
      );
    }
  } catch (error) {
    const known = error instanceof SettingsError || error instanceof HostKeyError;
    const message = error instanceof Error ? error.message : String(error);
    core.setFailed(known || !(error instanceof Error) ? message : (error.stack ?? message));
    await core.summary
      .addRaw(`## Blue/green deploy failed before any host was changed\n\n`)
      .addCodeBlock(message)
      .write()
      .catch(() => undefined);
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

function setOutputs(settings: Settings, outcomes: HostOutcome[], durationMs: number): void {
  const ok = outcomes.filter((o) => o.ok);
  // One value when all hosts agree, else one per host, comma separated.
  const uniform = (values: (string | number | undefined)[]) =>
    new Set(values).size === 1 ? String(values[0] ?? '') : values.map((v) => v ?? '').join(',');
  if (ok.length > 0) {
    core.setOutput('active-port', uniform(ok.map((o) => o.activePort)));
    core.setOutput('previous-port', uniform(ok.map((o) => o.previousPort)));
  }
  core.setOutput('release-id', ok.length > 0 ? uniform(ok.map((o) => o.releaseId)) : settings.releaseId);
  core.setOutput('duration-seconds', (durationMs / 1000).toFixed(1));
  core.setOutput(
    'hosts',
    JSON.stringify(
      outcomes.map((o) => ({
        host: o.host,
        ok: o.ok,
        releaseId: o.releaseId,
        activePort: o.activePort,
        previousPort: o.previousPort,
        error: o.error,
      })),
    ),
  );
  core.debug(`targets: ${settings.targets.map(hostLabel).join(', ')}`);
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
