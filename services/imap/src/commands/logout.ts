// LOGOUT (RFC 3501 §6.1.3): untagged BYE, then the tagged OK, then close.
import { R } from '../responses.js';
import { ANY, defineCommand, noArgs } from './command.js';

export const logout = defineCommand({
  name: 'LOGOUT',
  states: ANY,
  parse: noArgs,
  async handle(session) {
    await session.status('*', { kind: 'BYE', text: 'Logging out' });
    session.state = { kind: 'logout' };
    session.close();
    return R.bye;
  },
});
