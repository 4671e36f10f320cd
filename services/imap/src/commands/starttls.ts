// STARTTLS (RFC 3501 §6.2.1): the tagged OK is written in the clear, then
// the handshake; anything pipelined after the command is discarded by the
// transport (RFC 7817 §... injection), and the client must ask CAPABILITY again.
import { bad, ok } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const starttls = defineCommand({
  name: 'STARTTLS',
  states: ['not-authenticated'],
  parse: noArgs,
  async handle(session, _args, _state, ctx) {
    if (session.transport.secure) return bad('Already using TLS');
    await session.status(ctx.tag, ok('Begin TLS negotiation now'));
    try {
      await session.transport.startTls(session.deps.secureContext);
    } catch (err) {
      session.log.info({ err: (err as Error).message }, 'STARTTLS handshake failed');
      session.close();
    }
    return null;
  },
});
