// NOOP (RFC 3501 §6.1.2) and CHECK (§6.4.1): both only let pending updates through.
import { R } from '../responses.js';
import { ANY, defineCommand, noArgs, SELECTED } from './command.js';

export const noop = defineCommand({ name: 'NOOP', states: ANY, parse: noArgs, handle: async () => R.done });
export const check = defineCommand({
  name: 'CHECK',
  states: SELECTED,
  parse: noArgs,
  handle: async () => R.done,
});
