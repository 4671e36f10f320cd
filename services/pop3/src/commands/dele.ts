// DELE msg (RFC 1939 §5): only marks; the file goes on QUIT (maildrop.ts).
import { parseMessageNumber } from '../protocol/parse.js';
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';

export const dele = defineCommand({
  name: 'DELE',
  states: ['transaction'],
  parse: ({ args }) => {
    const n = args.length === 1 ? parseMessageNumber(args[0]) : null;
    return n === null ? null : { n };
  },
  async handle(session, { n }, { maildrop }) {
    const m = maildrop.get(n);
    if (!m) return session.reply(maildrop.has(n) ? R.alreadyDeleted : R.noSuchMessage);
    maildrop.delete(m);
    await session.reply(ok(`Message ${n} deleted`));
  },
});
