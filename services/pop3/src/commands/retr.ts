// RETR msg (RFC 1939 §5): the whole message, streamed and byte-stuffed.
import { parseMessageNumber } from '../protocol/parse.js';
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';
import { sendMessageReply } from './send.js';

export const retr = defineCommand({
  name: 'RETR',
  states: ['transaction'],
  parse: ({ args }) => {
    const n = args.length === 1 ? parseMessageNumber(args[0]) : null;
    return n === null ? null : { n };
  },
  async handle(session, { n }, { maildrop }) {
    const m = maildrop.get(n);
    if (!m) return session.reply(R.noSuchMessage);
    if (await sendMessageReply(session, maildrop, m, ok(`${m.size} octets`))) maildrop.retrieved(m);
  },
});
