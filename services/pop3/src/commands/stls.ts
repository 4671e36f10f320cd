// STLS (RFC 2595 §4): only in AUTHORIZATION and only once. After the
// handshake the session starts over in AUTHORIZATION with nothing remembered.
import { R } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const stls = defineCommand({
  name: 'STLS',
  states: ['authorization'],
  parse: noArgs,
  async handle(session) {
    if (session.transport.secure) return session.reply(R.alreadyTls);
    // The reply must be on the wire before the socket is handed to TLS.
    await session.reply(R.beginTls, true);
    try {
      await session.transport.startTls(session.deps.secureContext);
    } catch (err) {
      session.log.info({ err: (err as Error).message }, 'TLS handshake failed');
      session.transport.destroy();
      return session.close();
    }
    session.state = { kind: 'authorization', pendingUser: null };
  },
});
