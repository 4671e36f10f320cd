// LIST [msg] (RFC 1939 §5): "number octets", one message or all not deleted.
import { parseMessageNumber } from '../protocol/parse.js';
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';
import { optionalMessage } from './message-arg.js';

export const list = defineCommand({
  name: 'LIST',
  states: ['transaction'],
  parse: optionalMessage(parseMessageNumber),
  async handle(session, { n }, { maildrop }) {
    if (n !== null) {
      const m = maildrop.get(n);
      return session.reply(m ? ok(`${m.number} ${m.size}`) : R.noSuchMessage);
    }
    const { count, size } = maildrop.stat();
    const lines = maildrop.visible().map((m) => `${m.number} ${m.size}`);
    await session.replyLines(ok(`${count} messages (${size} octets)`), lines);
  },
});
