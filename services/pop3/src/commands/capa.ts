// CAPA (RFC 2449 §5). What we list depends on the session: USER and SASL only
// where plaintext logins are allowed now, STLS only before TLS and before
// login (RFC 2595 §4). APOP is not offered: it needs plaintext-equivalent
// stored passwords.
import { ok } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const capa = defineCommand({
  name: 'CAPA',
  states: ['authorization', 'transaction'],
  parse: noArgs,
  async handle(session, _args, state) {
    const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (state.kind === 'authorization') {
      if (session.plaintextAllowed()) lines.push('USER', 'SASL PLAIN');
      if (!session.transport.secure) lines.push('STLS');
    }
    lines.push('IMPLEMENTATION Postamt');
    await session.replyLines(ok('Capability list follows'), lines);
  },
});
