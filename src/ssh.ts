// The one SSH connection of a deploy (src/ssh/): connect.ts opens it (jump host, host key, authentication);
// remote.ts runs commands, SFTP and HTTP over it, with tunnel.ts (HTTP through SSH channels) and held.ts (the
// lock holder's channel); connector.ts makes it the rollout's Connector, with the executor on top.
export { connectSsh, type SshEndpoint, type SshOptions } from './ssh/connect.js';
export { SshRemote } from './ssh/remote.js';
export { sshConnector } from './ssh/connector.js';
