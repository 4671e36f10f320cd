// TOP msg n (RFC 1939 §7): headers, the blank line and n body lines.
// TOP does not mark the message seen: clients use it to preview.
import { parseMessageNumber, parseNumber } from '../protocol/parse.js';
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';
import { sendMessageReply } from './send.js';

export const top = defineCommand({
  name: 'TOP',
  states: ['transaction'],
  parse: ({ args }) => {
    const n = parseMessageNumber(args[0]);
    const lines = parseNumber(args[1], 0);
    return args.length === 2 && n !== null && lines !== null ? { n, lines } : null;
  },
  async handle(session, { n, lines }, { maildrop }) {
    const m = maildrop.get(n);
    if (!m) return session.reply(R.noSuchMessage);
    await sendMessageReply(session, maildrop, m, ok('Top of message follows'), lines);
  },
});
