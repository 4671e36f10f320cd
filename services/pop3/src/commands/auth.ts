// AUTH (RFC 5034) with the PLAIN mechanism (RFC 4616) only. Without an
// initial response we send an empty challenge ("+ ") and read one line;
// "*" cancels (RFC 5034 §4). AUTH without arguments lists the mechanisms, as
// older clients expect.

import { login, loginFailed } from '../login.js';
import { decodeSaslPlain, stripEol } from '../protocol/parse.js';
import { continuation, ok, R } from '../responses.js';
import { defineCommand } from './command.js';

export const auth = defineCommand({
  name: 'AUTH',
  states: ['authorization'],
  parse: ({ args }) =>
    args.length <= 2 ? { mechanism: args[0]?.toUpperCase() ?? null, initial: args[1] ?? null } : null,
  async handle(session, { mechanism, initial }, state) {
    state.pendingUser = null;
    if (mechanism === null) return session.replyLines(ok('Mechanisms follow'), ['PLAIN']);
    if (mechanism !== 'PLAIN') return session.reply(R.mechanismUnsupported);
    if (!session.plaintextAllowed()) return session.reply(R.plaintextRefused);
    let response = initial;
    if (response === null) {
      await session.transport.write(continuation());
      const line = await session.transport.nextLine();
      if (line === null) return;
      if (line === 'overflow') return session.close();
      response = stripEol(line).toString('latin1').trim();
      if (response === '*') return session.reply(R.authCancelled);
    }
    const plain = decodeSaslPlain(response);
    // We do not let one user act as another: authzid must be empty or the same.
    if (!plain.ok || (plain.authzid !== '' && plain.authzid !== plain.authcid)) return loginFailed(session);
    await login(session, plain.authcid, plain.password);
  },
});
