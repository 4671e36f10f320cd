// The header fields clients search and sort by, kept in the cached message
// index next to ENVELOPE/BODYSTRUCTURE (Dovecot keeps them in
// dovecot.index.cache the same way), so `SEARCH SUBJECT/FROM/TO/CC/BCC`,
// `SENTBEFORE/ON/SINCE` and `HEADER Message-ID …` on a big folder read no
// message file. The fields are stored byte for byte as they appear in the
// message, in order, so a search over them is the very same parse
// (@postamt/mime headerValues/addressValues) as over the file: the answers
// cannot differ. A field name outside the set, or a message whose fields do
// not fit the cap, falls back to reading the file. The fields are extracted
// by @postamt/mime summarizeMessage, at delivery or on first use.
import { type MessageIndex, type MessageSummary, SUMMARY_HEADS } from '@postamt/mime';
import type { SearchKey } from './protocol/search-args.js';

/** The summary the indexer caches (@postamt/mime summarizeMessage): the MIME index plus the searched header fields. */
export type CachedIndex = MessageSummary;
export { extractHeads } from '@postamt/mime';

/** True when every header a search key reads is among the cached fields. */
export function coveredByHeads(k: SearchKey): boolean {
  switch (k.op) {
    case 'header':
      return k.key !== 'HEADER' || SUMMARY_HEADS.has(k.field.toLowerCase());
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
