// STATUS (RFC 3501 §6.3.10, SIZE from RFC 8438, HIGHESTMODSEQ from RFC 7162
// §3.1.6), also used by LIST-STATUS (RFC 5819).
import { mailboxToWire } from '../protocol/mailbox-name.js';
import { ParseError, type Reader } from '../protocol/reader.js';
import { astring, encode } from '../protocol/serialize.js';
import { R } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { AUTHED, defineCommand } from './command.js';
import { mailboxArg } from './util.js';

const ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ'] as const;
export type StatusItem = (typeof ITEMS)[number];

export function parseStatusItems(r: Reader): StatusItem[] {
  return r.list(() => {
    const item = r.atom().toUpperCase();
    if (!(ITEMS as readonly string[]).includes(item)) throw new ParseError('unknown status item');
    return item as StatusItem;
  }, false);
}

export async function statusLine(
  session: Session,
  store: MailStore,
  name: string,
  items: StatusItem[],
): Promise<void> {
  const st = await store.status(name);
  const values: Record<StatusItem, number> = {
    MESSAGES: st.messages,
    RECENT: st.recent,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    SIZE: st.size,
    HIGHESTMODSEQ: st.highestModseq,
  };
  const body = items.map((i) => `${i} ${values[i]}`).join(' ');
  const utf8 = session.enabled.has('UTF8=ACCEPT');
  const wire = encode(astring(mailboxToWire(name, utf8), utf8));
  await session.untagged(`STATUS ${wire.toString('latin1')} (${body})`);
}

export const status = defineCommand({
  name: 'STATUS',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    const name = mailboxArg(r, ctx);
    r.sp();
    return { name, items: parseStatusItems(r) };
  },
  async handle(session, { name, items }, state) {
    await statusLine(session, state.store, name, items);
    return R.done;
  },
});
