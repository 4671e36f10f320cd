// USER (RFC 1939 §7). Always +OK for any name, so the reply does not reveal
// which mailboxes exist; the check happens at PASS.
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';

export const user = defineCommand({
  name: 'USER',
  states: ['authorization'],
  parse: ({ rest }) => (rest.trim() ? { name: rest.trim() } : null),
  async handle(session, { name }, state) {
    if (!session.plaintextAllowed()) return session.reply(R.plaintextRefused);
    state.pendingUser = name;
    await session.reply(ok('Send PASS'));
  },
});
