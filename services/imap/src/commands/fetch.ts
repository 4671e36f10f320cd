// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8, §7.4.2). UID FETCH always
// returns UID, first. BODY[...] without PEEK sets \Seen (and reports FLAGS)
// unless the mailbox is read-only. ENVELOPE/BODYSTRUCTURE and section offsets
// come from the cached MIME index (message-data.ts); message bytes are read
// only for sections, and only the header for top-level header sections.
import { MaildirError } from '@postamt/maildir';
import type { MessageIndex } from '@postamt/mime';
import type { MailboxView } from '../mailbox-view.js';
import { bytesNeeded, section, sectionSpec } from '../message-data.js';
import { type FetchAtt, formatSection, parseFetchItems } from '../protocol/fetch-args.js';
import { formatDateTime } from '../protocol/flags.js';
import { ParseError } from '../protocol/reader.js';
import { parseSeqSet } from '../protocol/sequence.js';
import { encodeAll, raw, type Wire } from '../protocol/serialize.js';
import { no, R, type Status } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { defineCommand, SELECTED } from './command.js';

/** Summaries are fetched (and, the first time, computed and cached) this many at a time. */
const BATCH = 256;

const META_ONLY = new Set<FetchAtt['kind']>(['FLAGS', 'INTERNALDATE', 'UID']);

/** Lazily loaded message bytes: a header prefix is enough for some sections. */
class Bytes {
  private full: Buffer | null = null;
  private head: Buffer | null = null;
  constructor(
    private readonly store: MailStore,
    private readonly folder: string,
    private readonly uid: number,
  ) {}
  async get(limit: number | null): Promise<Buffer> {
    if (this.full) return this.full;
    if (limit !== null) {
      if (this.head && this.head.length >= limit) return this.head;
      this.head = await this.store.read(this.folder, this.uid, limit);
      return this.head;
    }
    this.full = await this.store.read(this.folder, this.uid);
    return this.full;
  }
}

async function render(
  item: FetchAtt,
  index: MessageIndex,
  bytes: Bytes,
): Promise<{ out: Wire[]; seen: boolean }> {
  switch (item.kind) {
    case 'RFC822.SIZE':
      return { out: [raw('RFC822.SIZE'), index.size], seen: false };
    case 'ENVELOPE':
      return { out: [raw('ENVELOPE'), raw(`(${index.envelope})`)], seen: false };
    case 'BODYSTRUCTURE':
      return { out: [raw('BODYSTRUCTURE'), raw(`(${index.bodystructure})`)], seen: false };
    case 'BODY':
      return { out: [raw('BODY'), raw(`(${index.body})`)], seen: false };
    case 'RFC822':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT': {
      const text = item.kind === 'RFC822' ? null : item.kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT';
      const spec = sectionSpec({ part: [], text, fields: [] });
      const data = section(await bytes.get(bytesNeeded(spec, index)), index, spec);
      return { out: [raw(item.kind), data], seen: item.kind !== 'RFC822.HEADER' };
    }
    case 'SECTION': {
      const spec = sectionSpec(item.section, item.partial);
      const data = section(await bytes.get(bytesNeeded(spec, index)), index, spec);
      const label = `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.start}>` : ''}`;
      return { out: [raw(label), data], seen: !item.peek };
    }
    default:
      return { out: [], seen: false };
  }
}

export async function fetchOne(
  session: Session,
  store: MailStore,
  view: MailboxView,
  uid: number,
  items: FetchAtt[],
  withUid: boolean,
  index: MessageIndex | undefined,
): Promise<boolean> {
  const seq = view.seqOf(uid);
  const meta = view.meta.get(uid);
  if (!meta) return false;
  const needsIndex = items.some((i) => !META_ONLY.has(i.kind));
  if (needsIndex && !index) return false;
  const bytes = new Bytes(store, view.name, uid);
  let setSeen = false;
  const out: Wire[] = [];
  if (withUid && !items.some((i) => i.kind === 'UID')) out.push(raw('UID'), uid);
  try {
    for (const item of items) {
      if (item.kind === 'UID') out.push(raw('UID'), uid);
      else if (item.kind === 'INTERNALDATE') out.push(raw('INTERNALDATE'), formatDateTime(meta.internalDate));
      else if (item.kind !== 'FLAGS') {
        // FLAGS is written last, after a possible \Seen change.
        const r = await render(item, index as MessageIndex, bytes);
        out.push(...r.out);
        setSeen ||= r.seen;
      }
    }
  } catch (err) {
    if (err instanceof MaildirError && err.code === 'not-found') return false; // expunged meanwhile
    throw err;
  }
  let flagsChanged = false;
  if (setSeen && !view.readOnly && !meta.flags.includes('\\Seen')) {
    const now = (await store.setFlags(view.name, [uid], 'add', ['\\Seen'])).get(uid);
    if (now) view.meta.set(uid, { ...meta, flags: now });
    flagsChanged = true;
  }
  if (items.some((i) => i.kind === 'FLAGS') || flagsChanged) out.push(raw('FLAGS'), view.flagsOf(uid));
  await session.untagged(Buffer.concat([Buffer.from(`${seq} FETCH (`), encodeAll(out), Buffer.from(')')]));
  return true;
}

/** `FETCH … (FLAGS)`, `UID FETCH 1:* (FLAGS)`: what every client sends to resync, on the whole folder. */
function isFlagsSync(items: FetchAtt[]): boolean {
  const kinds = items.map((i) => i.kind);
  return kinds.every((k) => k === 'UID' || k === 'FLAGS') && new Set(kinds).size === kinds.length;
}

/**
 * The same lines fetchOne writes for UID and FLAGS (UID first, FLAGS last),
 * built as text and written in blocks: no per-message buffers, nothing read.
 */
async function flagsSync(
  session: Session,
  view: MailboxView,
  uids: number[],
  items: FetchAtt[],
  withUid: boolean,
): Promise<Status> {
  const uidItem = withUid || items.some((i) => i.kind === 'UID');
  const flagsItem = items.some((i) => i.kind === 'FLAGS');
  let lines: string[] = [];
  for (const uid of uids) {
    const meta = view.meta.get(uid);
    if (!meta) continue;
    const parts: string[] = [];
    if (uidItem) parts.push(`UID ${uid}`);
    if (flagsItem) {
      const flags = view.recent.has(uid) ? [...meta.flags, '\\Recent'] : meta.flags;
      parts.push(`FLAGS (${flags.join(' ')})`);
    }
    lines.push(`${view.seqOf(uid)} FETCH (${parts.join(' ')})`);
    if (lines.length >= 1000) {
      await session.untaggedMany(lines);
      lines = [];
    }
  }
  await session.untaggedMany(lines);
  return R.done;
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
    if (isFlagsSync(items)) return flagsSync(session, view, uids, items, ctx.uid);
    const needsIndex = items.some((i) => !META_ONLY.has(i.kind));
    let missing = 0;
    for (let i = 0; i < uids.length; i += BATCH) {
      const batch = uids.slice(i, i + BATCH);
      const indexes = needsIndex ? await state.store.summaries(view.name, batch) : new Map();
      for (const uid of batch) {
        if (!(await fetchOne(session, state.store, view, uid, items, ctx.uid, indexes.get(uid)))) missing++;
      }
    }
    // RFC 3501 §7.4.1 leaves it to us: messages expunged by others cannot be read.
    return missing ? no('Some messages were expunged', 'EXPUNGEISSUED') : R.done;
  },
});
