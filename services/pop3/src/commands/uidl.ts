// UIDL [msg] (RFC 1939 §7): "number unique-id"; ids come from uid.ts.
import { parseMessageNumber } from '../protocol/parse.js';
import { ok, R } from '../responses.js';
import { defineCommand } from './command.js';
import { optionalMessage } from './message-arg.js';

export const uidl = defineCommand({
  name: 'UIDL',
  states: ['transaction'],
  parse: optionalMessage(parseMessageNumber),
  async handle(session, { n }, { maildrop }) {
    if (n !== null) {
      const m = maildrop.get(n);
      return session.reply(m ? ok(`${m.number} ${m.uid}`) : R.noSuchMessage);
    }
    const lines = maildrop.visible().map((m) => `${m.number} ${m.uid}`);
    await session.replyLines(ok('Unique-id listing follows'), lines);
  },
});
