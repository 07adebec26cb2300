/**
 * Fail-closed SSH host key verification for ssh2.
 *
 * ssh2 accepts every host key unless a `hostVerifier` is supplied. The modules
 * under host-key/ turn the action's `known-hosts` (known_hosts lines as
 * `ssh-keyscan` prints them) and `host-fingerprint` (`SHA256:...` as
 * `ssh-keygen -lf` prints them) inputs into a policy, and verify the server's
 * raw host key blob against it following OpenSSH known_hosts semantics
 * (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *
 * - types.ts: the policy, the results, HostKeyError;
 * - key-blob.ts: key blobs, their key type and SHA256 fingerprint;
 * - known-hosts.ts and fingerprints.ts: parsing the two inputs, host matching;
 * - verify.ts: the check itself, the ssh2 host verifier, the algorithms to negotiate;
 * - probe.ts: asking a server for its keys, the mismatch message.
 */
export { fingerprint, keyTypeOf } from './host-key/key-blob.js';
export { parseFingerprints } from './host-key/fingerprints.js';
export { hostMatches, parseKnownHosts } from './host-key/known-hosts.js';
export { mismatchMessage, probeHostKeys } from './host-key/probe.js';
export {
  HostKeyError,
  type HostKeyCheck,
  type HostKeyPolicy,
  type KnownHostEntry,
  type OfferedHostKey,
  type VerifyResult,
} from './host-key/types.js';
export {
  createHostVerifier,
  pinnedKeyTypes,
  serverHostKeyAlgorithms,
  verifyHostKey,
} from './host-key/verify.js';
