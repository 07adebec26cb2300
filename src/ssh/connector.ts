// The rollout's Connector over SSH: one connection per host from the settings (host key policy, jump host,
// timeout), and the executor on top of it. Transport glue, exercised by the integration suites.
import type { Settings } from '../inputs.js';
import { executor } from '../remote.js';
import type { Connector } from '../rollout.js';
import { connectSsh } from './connect.js';

export function sshConnector(settings: Settings): Connector {
  return async (target, log) => {
    const remote = await connectSsh({
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
      commandTimeoutMs: settings.commandTimeoutMs,
      log,
    });
    return { host: executor(remote), close: () => remote.close() };
  };
}
