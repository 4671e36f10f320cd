// The header fields clients search and sort by, kept in the cached message
// index next to ENVELOPE/BODYSTRUCTURE (Dovecot keeps them in
// dovecot.index.cache the same way), so `SEARCH SUBJECT/FROM/TO/CC/BCC`,
// `SENTBEFORE/ON/SINCE` and `HEADER Message-ID …` on a big folder read no
// message file. The fields are stored byte for byte as they appear in the
// message, in order, so a search over them is the very same parse
// (@postamt/mime headerValues/addressValues) as over the file: the answers
// cannot differ. A field name outside the set, or a message whose fields do
// not fit the cap, falls back to reading the file.
import { type MessageIndex, readHeaderFields } from '@postamt/mime';
import type { SearchKey } from './protocol/search-args.js';

const CACHED = new Set([
  'subject',
  'from',
  'to',
  'cc',
  'bcc',
  'date',
  'sender',
  'reply-to',
  'message-id',
  'in-reply-to',
  'references',
]);

/** Above this many bytes the fields are not cached (SEARCH reads the file for that message). */
const MAX_HEADS = 16 * 1024;

/** The summary the IMAP indexer caches: the MIME index plus the searched header fields. */
export interface CachedIndex extends MessageIndex {
  /** The CACHED fields as raw latin1 text, in file order; absent if over MAX_HEADS. */
  heads?: string;
}

export function extractHeads(bytes: Buffer, index: MessageIndex): string | undefined {
  const root = index.root;
  const s = bytes.toString('latin1', 0, root.pos + root.header.physical);
  let out = '';
  for (const f of readHeaderFields(s, root.pos, s.length)) {
    if (!CACHED.has(f.name.toLowerCase())) continue;
    out += s.slice(f.start, f.end);
    if (out.length > MAX_HEADS) return undefined;
  }
  return out;
}

/** True when every header a search key reads is among the cached fields. */
export function coveredByHeads(k: SearchKey): boolean {
  switch (k.op) {
    case 'header':
      return k.key !== 'HEADER' || CACHED.has(k.field.toLowerCase());
    case 'body':
    case 'text':
      return false;
    case 'not':
      return coveredByHeads(k.key);
    case 'or':
      return coveredByHeads(k.a) && coveredByHeads(k.b);
    case 'and':
      return k.keys.every(coveredByHeads);
    default:
      return true;
  }
}

/** A stand-in message of just the cached fields, with an index whose root header spans them. */
export function headsMessage(index: CachedIndex): { bytes: Buffer; index: MessageIndex } | null {
  if (index.heads === undefined) return null;
  const bytes = Buffer.from(`${index.heads}\r\n`, 'latin1');
  const root = { ...index.root, pos: 0, header: { ...index.root.header, physical: bytes.length } };
  return { bytes, index: { ...index, root } };
}
