// HTTP from the host's point of view: an undici Agent whose every connection is an SSH direct-tcpip channel,
// so the host needs no curl.
import type { Socket } from 'node:net';
import type { Client } from 'ssh2';
import { Agent } from 'undici';

/** SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: sshd has `AllowTcpForwarding no`. */
const ADMINISTRATIVELY_PROHIBITED = 1;

/**
 * An Agent that opens each connection as a channel of `connection()`; `onRefused` is called when the host
 * forbids forwarding.
 */
export function tunnelAgent(connection: () => Client, onRefused: () => void): Agent {
  return new Agent({
    connect: (options, callback) => {
      const target = options.hostname.replace(/^\[(.*)\]$/, '$1');
      connection().forwardOut('127.0.0.1', 0, target, Number(options.port), (error, channel) => {
        if ((error as { reason?: number } | undefined)?.reason === ADMINISTRATIVELY_PROHIBITED) onRefused();
        if (error) {
          callback(error, null);
          return;
        }
        // undici waits for 'close' after destroying a socket, but an ssh2 channel emits 'close' only once its
        // end was read, and nobody reads a destroyed socket (e.g. after a `Connection: close` answer): without
        // this, closing the agent would wait forever.
        const destroy = channel.destroy.bind(channel);
        channel.destroy = () => {
          destroy();
          channel.resume();
          return channel;
        };
        callback(null, channel as unknown as Socket);
      });
    },
    keepAliveTimeout: 2000,
    pipelining: 1,
  });
}
