// STAT (RFC 1939 §5): count and octets of the messages not marked deleted.
import { ok } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const stat = defineCommand({
  name: 'STAT',
  states: ['transaction'],
  parse: noArgs,
  async handle(session, _args, { maildrop }) {
    const { count, size } = maildrop.stat();
    await session.reply(ok(`${count} ${size}`));
  },
});
