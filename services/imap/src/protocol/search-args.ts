// SEARCH keys (RFC 3501 §6.4.4, §9 search-key) parsed into a tree. Nesting
// (parentheses, NOT, OR) is depth-capped. CHARSET: any charset the WHATWG
// Encoding Standard knows (RFC 3501 §6.4.4: others get NO [BADCHARSET]);
// 8-bit strings without CHARSET are taken as UTF-8, like Dovecot does.
import { TextDecoder } from 'node:util';
import { parseModseq } from './fetch-args.js';
import { parseDate, parseFlag } from './flags.js';
import { MAX_DEPTH, ParseError, type Reader } from './reader.js';
import { parseSeqSet, type SeqSet } from './sequence.js';

export type SearchKey =
  | { op: 'all' }
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'new' | 'old' | 'recent' }
  | { op: 'header'; key: 'SUBJECT' | 'FROM' | 'TO' | 'CC' | 'BCC' | 'HEADER'; field: string; value: string }
  | { op: 'body' | 'text'; value: string }
  | { op: 'date'; which: 'internal' | 'sent'; cmp: 'before' | 'on' | 'since'; date: Date }
  | { op: 'size'; cmp: 'larger' | 'smaller'; n: number }
  | { op: 'seq'; set: SeqSet }
  | { op: 'uid'; set: SeqSet }
  /** RFC 7162 §3.1.5: modseq at least this (one modseq per message, so the entry name is not kept). */
  | { op: 'modseq'; modseq: number }
  | { op: 'not'; key: SearchKey }
  | { op: 'or'; a: SearchKey; b: SearchKey }
  | { op: 'and'; keys: SearchKey[] };

export class BadCharsetError extends Error {}

export interface SearchProgram {
  charset: string;
  key: SearchKey;
  /** ESEARCH RETURN options (RFC 4731 §3); null: classic untagged SEARCH. */
  returnOpts: string[] | null;
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const ADDRESS_KEYS = ['BCC', 'CC', 'FROM', 'SUBJECT', 'TO'];
const DATE_KEYS: Record<string, ['internal' | 'sent', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

type Decode = (b: Buffer) => string;

function decoderFor(charset: string): Decode {
  const label = charset === 'US-ASCII' ? 'utf-8' : charset;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    throw new BadCharsetError(charset);
  }
  return (b) => decoder.decode(b);
}

function key(r: Reader, depth: number, decode: Decode): SearchKey {
  const text = (rr: Reader) => decode(rr.astring());
  if (depth > MAX_DEPTH) throw new ParseError('search too deeply nested');
  const c = r.peek();
  if (c === 0x28) {
    const keys = r.list(() => key(r, depth + 1, decode), false);
    return keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys };
  }
  if ((c >= 0x30 && c <= 0x39) || c === 0x2a) return { op: 'seq', set: parseSeqSet(r) };
  const word = r.atom().toUpperCase();
  const flagKey = FLAG_KEYS[word];
  if (flagKey) return { op: 'flag', flag: flagKey[0], set: flagKey[1] };
  const dateKey = DATE_KEYS[word];
  if (dateKey) {
    r.sp();
    return { op: 'date', which: dateKey[0], cmp: dateKey[1], date: parseDate(r) };
  }
  if (ADDRESS_KEYS.includes(word)) {
    r.sp();
    return { op: 'header', key: word as 'SUBJECT', field: word, value: text(r) };
  }
  switch (word) {
    case 'ALL':
      return { op: 'all' };
    case 'NEW':
    case 'OLD':
    case 'RECENT':
      return { op: word.toLowerCase() as 'new' | 'old' | 'recent' };
    case 'BODY':
    case 'TEXT':
      r.sp();
      return { op: word === 'BODY' ? 'body' : 'text', value: text(r) };
    case 'HEADER': {
      r.sp();
      const field = r.astring().toString('latin1').toUpperCase();
      r.sp();
      return { op: 'header', key: 'HEADER', field, value: text(r) };
    }
    case 'KEYWORD':
    case 'UNKEYWORD':
      r.sp();
      return { op: 'flag', flag: parseFlag(r), set: word === 'KEYWORD' };
    case 'LARGER':
    case 'SMALLER':
      r.sp();
      return { op: 'size', cmp: word === 'LARGER' ? 'larger' : 'smaller', n: r.number() };
    case 'NOT':
      r.sp();
      return { op: 'not', key: key(r, depth + 1, decode) };
    case 'OR': {
      r.sp();
      const a = key(r, depth + 1, decode);
      r.sp();
      return { op: 'or', a, b: key(r, depth + 1, decode) };
    }
    case 'UID':
      r.sp();
      return { op: 'uid', set: parseSeqSet(r) };
    case 'MODSEQ': {
      // MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      r.sp();
      if (r.peek() === 0x22) {
        const entry = r.quoted().toString('latin1').toLowerCase();
        if (!entry.startsWith('/flags/')) throw new ParseError('bad MODSEQ entry name');
        r.sp();
        const type = r.atom().toLowerCase();
        if (type !== 'priv' && type !== 'shared' && type !== 'all')
          throw new ParseError('bad MODSEQ entry type');
        r.sp();
      }
      return { op: 'modseq', modseq: parseModseq(r, true) };
    }
    default:
      throw new ParseError('unknown search key');
  }
}

const RETURN_OPTS = ['MIN', 'MAX', 'ALL', 'COUNT'];

/** search = "SEARCH" [SP "RETURN" SP "(" ... ")"] [SP "CHARSET" SP astring] 1*(SP search-key) */
export function parseSearch(r: Reader, opts: { utf8?: boolean } = {}): SearchProgram {
  let returnOpts: string[] | null = null;
  r.sp();
  if (r.keyword('RETURN')) {
    r.sp();
    returnOpts = r.list(() => {
      const o = r.atom().toUpperCase();
      if (!RETURN_OPTS.includes(o)) throw new ParseError('unknown RETURN option');
      return o;
    });
    // RFC 4731 §3.1: RETURN () means RETURN (ALL).
    if (returnOpts.length === 0) returnOpts = ['ALL'];
    r.sp();
  }
  let charset = 'US-ASCII';
  if (r.keyword('CHARSET')) {
    // RFC 6855 §3: after ENABLE UTF8=ACCEPT a client must not name a charset; BAD.
    if (opts.utf8) throw new ParseError('SEARCH CHARSET after ENABLE UTF8=ACCEPT');
    r.sp();
    charset = r.astring().toString('latin1').toUpperCase();
    r.sp();
  }
  const decode = decoderFor(charset);
  const keys: SearchKey[] = [key(r, 0, decode)];
  while (r.take(' ')) keys.push(key(r, 0, decode));
  return { charset, key: keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys }, returnOpts };
}

/** The program uses the MODSEQ key: the result carries the highest modseq found (RFC 7162 §3.1.5). */
export function usesModseq(k: SearchKey): boolean {
  switch (k.op) {
    case 'modseq':
      return true;
    case 'not':
      return usesModseq(k.key);
    case 'or':
      return usesModseq(k.a) || usesModseq(k.b);
    case 'and':
      return k.keys.some(usesModseq);
    default:
      return false;
  }
}
