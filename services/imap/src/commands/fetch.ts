// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8, §7.4.2). UID FETCH always
// returns UID. BODY[...] without PEEK sets \Seen (and reports FLAGS) unless
// the mailbox is read-only. Message bytes are served exactly as stored.
import type { MailboxView } from '../mailbox-view.js';
import type { ParsedMessage } from '../message.js';
import { type FetchAtt, formatSection, parseFetchItems } from '../protocol/fetch-args.js';
import { formatDateTime } from '../protocol/flags.js';
import { ParseError } from '../protocol/reader.js';
import { parseSeqSet } from '../protocol/sequence.js';
import { encodeAll, raw, type Wire } from '../protocol/serialize.js';
import { no, R } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { defineCommand, SELECTED } from './command.js';

const needsBody = (a: FetchAtt) => !['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'UID'].includes(a.kind);

function slice(data: Buffer, partial: { start: number; length: number } | null): Buffer {
  if (!partial) return data;
  return data.subarray(
    Math.min(partial.start, data.length),
    Math.min(partial.start + partial.length, data.length),
  );
}

export async function fetchOne(
  session: Session,
  store: MailStore,
  view: MailboxView,
  uid: number,
  items: FetchAtt[],
  withUid: boolean,
): Promise<boolean> {
  const seq = view.seqOf(uid);
  const meta = view.meta.get(uid);
  if (!meta) return false;
  let bytes: Buffer | null = null;
  let parsed: ParsedMessage | null = null;
  if (items.some(needsBody)) {
    bytes = await store.read(view.name, uid).catch(() => null);
    if (!bytes) return false;
    parsed = session.deps.parse(bytes);
  }
  const b = bytes ?? Buffer.alloc(0);
  const p = parsed as ParsedMessage;
  let setSeen = false;
  const out: Wire[] = [];
  if (withUid && !items.some((i) => i.kind === 'UID')) out.push(raw('UID'), uid);
  for (const item of items) {
    switch (item.kind) {
      case 'UID':
        out.push(raw('UID'), uid);
        break;
      case 'FLAGS':
        break; // written last, after a possible \Seen change
      case 'INTERNALDATE':
        out.push(raw('INTERNALDATE'), formatDateTime(meta.internalDate));
        break;
      case 'RFC822.SIZE':
        out.push(raw('RFC822.SIZE'), meta.size);
        break;
      case 'ENVELOPE':
        out.push(raw('ENVELOPE'), p.envelope());
        break;
      case 'BODYSTRUCTURE':
        out.push(raw('BODYSTRUCTURE'), p.bodyStructure(true));
        break;
      case 'BODY':
        out.push(raw('BODY'), p.bodyStructure(false));
        break;
      case 'RFC822':
        setSeen = true;
        out.push(raw('RFC822'), b);
        break;
      case 'RFC822.HEADER':
        out.push(
          raw('RFC822.HEADER'),
          p.section({ part: [], text: 'HEADER', fields: [] }) ?? Buffer.alloc(0),
        );
        break;
      case 'RFC822.TEXT':
        setSeen = true;
        out.push(raw('RFC822.TEXT'), p.section({ part: [], text: 'TEXT', fields: [] }) ?? Buffer.alloc(0));
        break;
      case 'SECTION': {
        if (!item.peek) setSeen = true;
        const data = p.section(item.section);
        const label = `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.start}>` : ''}`;
        out.push(raw(label), data === null ? Buffer.alloc(0) : slice(data, item.partial));
        break;
      }
    }
  }
  let flagsChanged = false;
  if (setSeen && !view.readOnly && !meta.flags.includes('\\Seen')) {
    const res = await store.setFlags(view.name, [{ uid, flags: [...meta.flags, '\\Seen'] }]);
    const now = res.get(uid);
    if (now) view.meta.set(uid, { ...meta, flags: now });
    flagsChanged = true;
  }
  if (items.some((i) => i.kind === 'FLAGS') || flagsChanged) out.push(raw('FLAGS'), view.flagsOf(uid));
  await session.untagged(Buffer.concat([Buffer.from(`${seq} FETCH (`), encodeAll(out), Buffer.from(')')]));
  return true;
}

export const fetch = defineCommand({
  name: 'FETCH',
  states: SELECTED,
  holdsExpunge: true,
  parse(r) {
    r.sp();
    const set = parseSeqSet(r);
    r.sp();
    const items = parseFetchItems(r);
    // CHANGEDSINCE and other fetch modifiers (RFC 7162) are not supported.
    if (r.peek() === 0x20) throw new ParseError('fetch modifiers not supported');
    return { set, items };
  },
  async handle(session, { set, items }, state, ctx) {
    const view = state.mailbox;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    let missing = 0;
    for (const uid of uids) {
      if (!(await fetchOne(session, state.store, view, uid, items, ctx.uid))) missing++;
    }
    // RFC 3501 §7.4.1 leaves it to us: messages expunged by others cannot be read.
    return missing ? no('Some messages were expunged', 'EXPUNGEISSUED') : R.done;
  },
});
