// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8, §7.4.2). UID FETCH always
// returns UID, first. BODY[...] without PEEK sets \Seen (and reports FLAGS)
// unless the mailbox is read-only. ENVELOPE/BODYSTRUCTURE and section offsets
// come from the cached MIME index (message-data.ts); message bytes are read
// only for sections, and only the header for top-level header sections.
// RFC 7162: the MODSEQ item and (CHANGEDSINCE n) enable CONDSTORE; CHANGEDSINCE
// fetches only messages changed after n, with MODSEQ; UID FETCH … (CHANGEDSINCE
// n VANISHED) under QRESYNC first lists the UIDs of the set expunged since n.
// FLAGS and MODSEQ come from the view as one pair, so they always agree.
import { MaildirError } from '@postamt/maildir';
import type { MessageIndex } from '@postamt/mime';
import type { MailboxView } from '../mailbox-view.js';
import { bytesNeeded, section, sectionSpec } from '../message-data.js';
import {
  type FetchAtt,
  type FetchModifiers,
  formatSection,
  parseFetchItems,
  parseFetchModifiers,
} from '../protocol/fetch-args.js';
import { formatDateTime } from '../protocol/flags.js';
import { formatSet, inSet, parseSeqSet, resolveRanges, type SeqSet } from '../protocol/sequence.js';
import { encodeAll, encodeString, raw, type Wire } from '../protocol/serialize.js';
import { bad, no, R, type Status } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { defineCommand, SELECTED } from './command.js';
import { syncMailbox } from './util.js';

/** Summaries are fetched (and, the first time, computed and cached) this many at a time. */
const BATCH = 256;

const META_ONLY = new Set<FetchAtt['kind']>(['FLAGS', 'INTERNALDATE', 'UID', 'MODSEQ']);

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

/** RFC 3501 §6.4.5: fetching these (BODY[…] without PEEK, RFC822, RFC822.TEXT) sets \Seen. */
function setsSeen(items: FetchAtt[]): boolean {
  return items.some(
    (i) => (i.kind === 'SECTION' && !i.peek) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT',
  );
}

async function render(item: FetchAtt, index: MessageIndex, bytes: Bytes): Promise<Wire[]> {
  switch (item.kind) {
    case 'RFC822.SIZE':
      return [raw('RFC822.SIZE'), index.size];
    case 'ENVELOPE':
      return [raw('ENVELOPE'), raw(`(${index.envelope})`)];
    case 'BODYSTRUCTURE':
      return [raw('BODYSTRUCTURE'), raw(`(${index.bodystructure})`)];
    case 'BODY':
      return [raw('BODY'), raw(`(${index.body})`)];
    case 'RFC822':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT': {
      const text = item.kind === 'RFC822' ? null : item.kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT';
      const spec = sectionSpec({ part: [], text, fields: [] });
      const data = section(await bytes.get(bytesNeeded(spec, index)), index, spec);
      return [raw(item.kind), data];
    }
    case 'SECTION': {
      const spec = sectionSpec(item.section, item.partial);
      const data = section(await bytes.get(bytesNeeded(spec, index)), index, spec);
      const label = `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.start}>` : ''}`;
      return [raw(label), data];
    }
    default:
      return [];
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
  /** This FETCH has just set \Seen on the message (see markSeen): report FLAGS. */
  flagsChanged = false,
  condstore = false,
): Promise<boolean> {
  const seq = view.seqOf(uid);
  const meta = view.meta.get(uid);
  if (!meta) return false;
  const needsIndex = items.some((i) => !META_ONLY.has(i.kind));
  if (needsIndex && !index) return false;
  const bytes = new Bytes(store, view.name, uid);
  const out: Wire[] = [];
  if (withUid && !items.some((i) => i.kind === 'UID')) out.push(raw('UID'), uid);
  try {
    for (const item of items) {
      if (item.kind === 'UID') out.push(raw('UID'), uid);
      else if (item.kind === 'INTERNALDATE') out.push(raw('INTERNALDATE'), formatDateTime(meta.internalDate));
      else if (item.kind !== 'FLAGS' && item.kind !== 'MODSEQ') {
        // FLAGS and MODSEQ go last, where Dovecot has them (the corpus tests compare bytes).
        out.push(...(await render(item, index as MessageIndex, bytes)));
      }
    }
  } catch (err) {
    if (err instanceof MaildirError && err.code === 'not-found') return false; // expunged meanwhile
    throw err;
  }
  // RFC 7162 §3.1: a flag change this FETCH made carries UID and MODSEQ under CONDSTORE.
  if (flagsChanged && condstore && !withUid && !items.some((i) => i.kind === 'UID'))
    out.unshift(raw('UID'), uid);
  if (items.some((i) => i.kind === 'FLAGS') || flagsChanged) out.push(raw('FLAGS'), view.flagsOf(uid));
  if (items.some((i) => i.kind === 'MODSEQ') || (flagsChanged && condstore))
    out.push(raw('MODSEQ'), raw(`(${meta.modseq})`));
  await session.untagged(Buffer.concat([Buffer.from(`${seq} FETCH (`), encodeAll(out), Buffer.from(')')]));
  return true;
}

/** Items whose data is mailbox state or pre-rendered index text: no message bytes, nothing to await. */
const FROM_INDEX = new Set<FetchAtt['kind']>([
  'UID',
  'FLAGS',
  'MODSEQ',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
]);

/**
 * The line fetchOne would write for items all in FROM_INDEX (and no flag
 * change), built as one binary string, so a `FETCH 1:* (ENVELOPE)` makes a
 * string per message, not a dozen buffers and a promise; null where
 * fetchOne returns false (gone, or no index).
 */
function indexLine(
  view: MailboxView,
  uid: number,
  items: FetchAtt[],
  withUid: boolean,
  index: MessageIndex | undefined,
): string | null {
  const meta = view.meta.get(uid);
  if (!meta) return null;
  let body = '';
  const add = (part: string) => {
    body = body ? `${body} ${part}` : part;
  };
  let flags = false;
  let modseq = false;
  if (withUid && !items.some((i) => i.kind === 'UID')) add(`UID ${uid}`);
  for (const item of items) {
    switch (item.kind) {
      case 'UID':
        add(`UID ${uid}`);
        break;
      case 'INTERNALDATE':
        add(`INTERNALDATE ${encodeString(formatDateTime(meta.internalDate)).toString('latin1')}`);
        break;
      case 'FLAGS':
        flags = true;
        break;
      case 'MODSEQ':
        modseq = true;
        break;
      default: {
        if (!index) return null;
        if (item.kind === 'RFC822.SIZE') add(`RFC822.SIZE ${index.size}`);
        else if (item.kind === 'ENVELOPE') add(`ENVELOPE (${index.envelope})`);
        else if (item.kind === 'BODYSTRUCTURE') add(`BODYSTRUCTURE (${index.bodystructure})`);
        else if (item.kind === 'BODY') add(`BODY (${index.body})`);
      }
    }
  }
  // FLAGS and MODSEQ last, as in fetchOne.
  if (flags) {
    const list = view.recent.has(uid) ? [...meta.flags, '\\Recent'] : meta.flags;
    add(`FLAGS (${list.join(' ')})`);
  }
  if (modseq) add(`MODSEQ (${meta.modseq})`);
  return `${view.seqOf(uid)} FETCH (${body})`;
}

/**
 * Sets \Seen on the messages of a batch that lack it, in one store call (one
 * lock and one modseq write for the batch, not one per message), and updates
 * the view: FLAGS and MODSEQ change together. Returns the UIDs it changed.
 */
async function markSeen(store: MailStore, view: MailboxView, batch: number[]): Promise<Set<number>> {
  const unseen = batch.filter((u) => {
    const meta = view.meta.get(u);
    return meta && !meta.flags.includes('\\Seen');
  });
  if (!unseen.length) return new Set();
  const result = await store.setFlags(view.name, unseen, 'add', ['\\Seen']);
  for (const [uid, now] of result) {
    const meta = view.meta.get(uid);
    if (meta) view.meta.set(uid, { ...meta, flags: now.flags, modseq: now.modseq });
  }
  return new Set(result.keys());
}

/** `FETCH … (FLAGS)`, `UID FETCH 1:* (FLAGS)`: what every client sends to resync, on the whole folder. */
function isFlagsSync(items: FetchAtt[]): boolean {
  const kinds = items.map((i) => i.kind);
  return (
    kinds.every((k) => k === 'UID' || k === 'FLAGS' || k === 'MODSEQ') && new Set(kinds).size === kinds.length
  );
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
  const modseqItem = items.some((i) => i.kind === 'MODSEQ');
  // The whole folder as the shared state has it (the UIDs asked for ascend, so as many are all):
  // the answer is the same for every session, made once per state.
  const shared = uids.length === view.uids.length ? view.plain : null;
  if (shared) {
    const key = `${+uidItem}${+flagsItem}${+modseqItem}`;
    await session.untaggedBytes(
      shared.answer(key, () => {
        const lines = flagsLines(view, uids, uidItem, flagsItem, modseqItem);
        return Buffer.from(lines.length ? `* ${lines.join('\r\n* ')}\r\n` : '', 'latin1');
      }),
    );
    return R.done;
  }
  const lines = flagsLines(view, uids, uidItem, flagsItem, modseqItem);
  for (let i = 0; i < lines.length; i += 2000) await session.untaggedMany(lines.slice(i, i + 2000));
  return R.done;
}

/** The FETCH lines of flagsSync, without the "* ". */
function flagsLines(
  view: MailboxView,
  uids: number[],
  uidItem: boolean,
  flagsItem: boolean,
  modseqItem: boolean,
): string[] {
  // Messages with the same flags mostly share one array (see the store's open): its text is made once.
  const flagText = new Map<readonly string[], string>();
  const recent = view.recent;
  const lines: string[] = [];
  // The UIDs ascend, as in the view: the sequence number is found by walking along, not searched.
  let at = 0;
  for (const uid of uids) {
    const meta = view.meta.get(uid);
    if (!meta) continue;
    if (view.uids[at] !== uid) at = view.seqOf(uid) - 1;
    let line = `${at + 1} FETCH (`;
    at++;
    let sep = '';
    if (uidItem) {
      line += `UID ${uid}`;
      sep = ' ';
    }
    if (flagsItem) {
      let text = flagText.get(meta.flags);
      if (text === undefined) {
        text = meta.flags.join(' ');
        flagText.set(meta.flags, text);
      }
      if (recent.size > 0 && recent.has(uid)) text = text ? `${text} \\Recent` : '\\Recent';
      line += `${sep}FLAGS (${text})`;
      sep = ' ';
    }
    if (modseqItem) line += `${sep}MODSEQ (${meta.modseq})`;
    lines.push(`${line})`);
  }
  return lines;
}

/**
 * RFC 7162 §3.2.6: the UIDs of `set` expunged after `since`. When the folder
 * no longer remembers that far back, every UID of the set below UIDNEXT that
 * is not in the mailbox (§3.2.5.1 lets VANISHED (EARLIER) name UIDs the client
 * never had). As ranges, so a set like 1:* costs nothing to answer.
 */
export async function vanishedSince(
  store: MailStore,
  view: MailboxView,
  set: SeqSet | null,
  since: number,
): Promise<string> {
  const max = Math.max(view.uidNext - 1, view.uids[view.uids.length - 1] ?? 0);
  const ranges = set ? resolveRanges(set, max) : [[1, max] as [number, number]];
  const known = await store.expungedSince(view.name, since);
  if (known) return formatSet(known.filter((u) => inSet(u, ranges) && !view.seqOf(u)));
  const parts: string[] = [];
  const sorted = ranges
    .map(([a, b]) => [a, Math.min(b, max)] as [number, number])
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  // Merge overlapping ranges, then take the gaps between the UIDs present.
  const merged: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  let i = 0;
  for (const [a, b] of merged) {
    let from = a;
    while (i < view.uids.length && (view.uids[i] as number) < a) i++;
    while (i < view.uids.length && (view.uids[i] as number) <= b) {
      const u = view.uids[i] as number;
      if (u > from) parts.push(u - 1 > from ? `${from}:${u - 1}` : `${from}`);
      from = u + 1;
      i++;
    }
    if (from <= b) parts.push(b > from ? `${from}:${b}` : `${from}`);
  }
  return parts.join(',');
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
    const mods: FetchModifiers = parseFetchModifiers(r);
    return { set, items, mods };
  },
  async handle(session, { set, items: asked, mods }, state, ctx) {
    const view = state.mailbox;
    let items = asked;
    const since = mods.changedSince;
    if (since !== null || items.some((i) => i.kind === 'MODSEQ')) session.enabled.add('CONDSTORE');
    // RFC 7162 §3.2.6: VANISHED only in UID FETCH, once QRESYNC is enabled.
    if (mods.vanished && (!ctx.uid || !session.enabled.has('QRESYNC')))
      return bad('VANISHED needs UID FETCH and QRESYNC');
    if (since !== null) {
      // The answer is about the folder now: merge what others changed first.
      await syncMailbox(session, ctx.uid, true);
      if (!items.some((i) => i.kind === 'MODSEQ')) items = [...items, { kind: 'MODSEQ' }];
    }
    let uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    if (since !== null) {
      if (mods.vanished) {
        const gone = await vanishedSince(state.store, view, set, since);
        if (gone) await session.untagged(`VANISHED (EARLIER) ${gone}`);
      }
      uids = uids.filter((u) => (view.meta.get(u)?.modseq ?? 0) > since);
    }
    if (isFlagsSync(items)) return flagsSync(session, view, uids, items, ctx.uid);
    const needsIndex = items.some((i) => !META_ONLY.has(i.kind));
    const condstore = session.enabled.has('CONDSTORE');
    let missing = 0;
    const marks = setsSeen(items) && !view.readOnly;
    const fromIndex = items.every((i) => FROM_INDEX.has(i.kind));
    for (let i = 0; i < uids.length; i += BATCH) {
      if (fromIndex) {
        const batch = uids.slice(i, i + BATCH);
        const indexes = needsIndex ? await state.store.summaries(view.name, batch) : new Map();
        const lines: string[] = [];
        for (const uid of batch) {
          const line = indexLine(view, uid, items, ctx.uid, indexes.get(uid));
          if (line === null) missing++;
          else lines.push(line);
        }
        await session.untaggedMany(lines);
        continue;
      }
      const batch = uids.slice(i, i + BATCH);
      const indexes = needsIndex ? await state.store.summaries(view.name, batch) : new Map();
      const seen = marks ? await markSeen(state.store, view, batch) : new Set<number>();
      for (const uid of batch) {
        const index = indexes.get(uid);
        if (
          !(await fetchOne(session, state.store, view, uid, items, ctx.uid, index, seen.has(uid), condstore))
        )
          missing++;
      }
    }
    // RFC 3501 §7.4.1 leaves it to us: messages expunged by others cannot be read.
    return missing ? no('Some messages were expunged', 'EXPUNGEISSUED') : R.done;
  },
});
