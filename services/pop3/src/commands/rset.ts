// RSET (RFC 1939 §5): unmark all deleted messages.
import { ok } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const rset = defineCommand({
  name: 'RSET',
  states: ['transaction'],
  parse: noArgs,
  async handle(session, _args, { maildrop }) {
    maildrop.reset();
    const { count, size } = maildrop.stat();
    await session.reply(ok(`Maildrop has ${count} messages (${size} octets)`));
  },
});
