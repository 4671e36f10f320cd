// CAPABILITY (RFC 3501 §6.1.1).

import { R } from '../responses.js';
import { ANY, defineCommand, noArgs } from './command.js';

export const capability = defineCommand({
  name: 'CAPABILITY',
  states: ANY,
  parse: noArgs,
  async handle(session) {
    await session.untagged(`CAPABILITY ${session.capabilities()}`);
    return R.done;
  },
});
