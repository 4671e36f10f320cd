// PASS (RFC 1939 §7). The argument is the whole rest of the line: §7 lets a
// server treat spaces as part of the password.

import { login } from '../login.js';
import { R } from '../responses.js';
import { defineCommand } from './command.js';

export const pass = defineCommand({
  name: 'PASS',
  states: ['authorization'],
  parse: ({ rest }) => (rest.length > 0 ? { password: rest } : null),
  async handle(session, { password }, state) {
    const name = state.pendingUser;
    state.pendingUser = null;
    if (!session.plaintextAllowed()) return session.reply(R.plaintextRefused);
    if (name === null) return session.reply(R.needUser);
    await login(session, name, password);
  },
});
