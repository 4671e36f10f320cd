// LOGIN (RFC 3501 §6.2.3): refused before TLS unless policy allows plaintext.
import { R } from '../responses.js';
import { defineCommand } from './command.js';
import { completeLogin } from './util.js';

export const login = defineCommand({
  name: 'LOGIN',
  states: ['not-authenticated'],
  parse(r) {
    r.sp();
    const user = r.astringText();
    r.sp();
    return { user, password: r.astringText() };
  },
  async handle(session, { user, password }) {
    if (!session.plaintextAllowed()) return R.loginDisabled;
    return completeLogin(session, user, password);
  },
});
