// NOOP (RFC 1939 §5).
import { ok } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const noop = defineCommand({
  name: 'NOOP',
  states: ['transaction'],
  parse: noArgs,
  handle: (session) => session.reply(ok('')),
});
