// FETCH data items (RFC 3501 §6.4.5, §9 fetch-att): macros, BODY[section]<partial>,
// BODY.PEEK, HEADER.FIELDS (.NOT), MODSEQ; and the fetch modifiers CHANGEDSINCE
// and VANISHED (RFC 7162 §3.1.4.1, §3.2.6). Pure parse into typed values.
import { ParseError, type Reader } from './reader.js';

export interface Section {
  /** Part path, e.g. [1, 2] for "1.2"; empty for the whole message. */
  part: number[];
  text: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME' | null;
  /** Upper-cased header field names for HEADER.FIELDS(.NOT). */
  fields: string[];
}

export type FetchAtt =
  | { kind: 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'UID' | 'MODSEQ' }
  | { kind: 'BODY' } // BODY without section: non-extensible BODYSTRUCTURE
  | { kind: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }
  | { kind: 'SECTION'; peek: boolean; section: Section; partial: { start: number; length: number } | null };

const MACROS: Record<string, FetchAtt['kind'][]> = {
  // RFC 3501 §6.4.5
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SIMPLE = [
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'RFC822',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'UID',
  'MODSEQ',
] as const;

/** Deeper than the MIME indexer nests (100 levels, as Dovecot); the line length caps it anyway. */
export const MAX_PART_DEPTH = 200;

/** header-fld-name = astring (RFC 3501 §9) */
function fieldName(r: Reader): string {
  const name = r.astring().toString('latin1');
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new ParseError('invalid header field name');
  return name.toUpperCase();
}

/** section = "[" [section-spec] "]" */
export function parseSection(r: Reader): Section {
  r.expect('[');
  const section: Section = { part: [], text: null, fields: [] };
  if (r.take(']')) return section;
  // section-part = nz-number *("." nz-number), then optionally "." section-text
  let dot = false;
  while (r.peek() >= 0x30 && r.peek() <= 0x39) {
    section.part.push(r.nzNumber());
    if (section.part.length > MAX_PART_DEPTH) throw new ParseError('section too deep');
    dot = r.take('.');
    if (!dot) break;
  }
  if (dot || !r.take(']')) {
    if (r.keyword('HEADER.FIELDS.NOT')) section.text = 'HEADER.FIELDS.NOT';
    else if (r.keyword('HEADER.FIELDS')) section.text = 'HEADER.FIELDS';
    else if (r.keyword('HEADER')) section.text = 'HEADER';
    else if (r.keyword('TEXT')) section.text = 'TEXT';
    else if (section.part.length > 0 && r.keyword('MIME')) section.text = 'MIME';
    else throw new ParseError('invalid section');
    if (section.text.startsWith('HEADER.FIELDS')) {
      r.sp();
      section.fields = r.list(() => fieldName(r), false);
    }
    r.expect(']');
  }
  return section;
}

/** Canonical spelling of a section for the response label (RFC 3501 §7.4.2 BODY[<section>]). */
export function formatSection(s: Section): string {
  const parts = s.part.join('.');
  let text = s.text ?? '';
  if (s.fields.length) text += ` (${s.fields.join(' ')})`;
  return parts && text ? `${parts}.${text}` : parts + text;
}

function partial(r: Reader): { start: number; length: number } | null {
  if (!r.take('<')) return null;
  const start = r.number();
  r.expect('.');
  const length = r.nzNumber();
  r.expect('>');
  return { start, length };
}

function fetchAtt(r: Reader): FetchAtt {
  if (r.keyword('BODY.PEEK[') || r.keyword('BINARY.PEEK[')) {
    r.pos--;
    return { kind: 'SECTION', peek: true, section: parseSection(r), partial: partial(r) };
  }
  if (r.keyword('BODY[')) {
    r.pos--;
    return { kind: 'SECTION', peek: false, section: parseSection(r), partial: partial(r) };
  }
  for (const name of SIMPLE) if (r.keyword(name)) return { kind: name };
  if (r.keyword('BODY')) return { kind: 'BODY' };
  throw new ParseError('unknown fetch item');
}

/** fetch-args = ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") */
export function parseFetchItems(r: Reader): FetchAtt[] {
  if (r.peek() === 0x28) return r.list(() => fetchAtt(r), false);
  for (const [name, kinds] of Object.entries(MACROS)) {
    if (r.keyword(name)) return kinds.map((kind) => ({ kind }) as FetchAtt);
  }
  return [fetchAtt(r)];
}

/** Mod-sequences are below 2^63 (RFC 7162 §7); ours stay far below 2^53, so larger ones compare as "above all". */
const MAX_MODSEQ_DIGITS = 19;

/** mod-sequence-value = 1*DIGIT (RFC 7162 §7); `zero` allows mod-sequence-valzer. */
export function parseModseq(r: Reader, zero = false): number {
  const start = r.pos;
  while (r.peek() >= 0x30 && r.peek() <= 0x39) r.pos++;
  const text = r.buf.toString('latin1', start, r.pos);
  if (!text || text.length > MAX_MODSEQ_DIGITS) throw new ParseError('expected a mod-sequence');
  const n = Math.min(Number(text), Number.MAX_SAFE_INTEGER);
  if (n === 0 && !zero) throw new ParseError('expected a non-zero mod-sequence');
  return n;
}

export interface FetchModifiers {
  /** CHANGEDSINCE: only messages whose modseq is above this. */
  changedSince: number | null;
  /** VANISHED (UID FETCH under QRESYNC): also report UIDs expunged since. */
  vanished: boolean;
}

/** [SP "(" fetch-modifier *(SP fetch-modifier) ")"] after the fetch items. */
export function parseFetchModifiers(r: Reader): FetchModifiers {
  const mods: FetchModifiers = { changedSince: null, vanished: false };
  if (!r.take(' ')) return mods;
  r.list(() => {
    if (r.keyword('CHANGEDSINCE')) {
      r.sp();
      mods.changedSince = parseModseq(r);
    } else if (r.keyword('VANISHED')) mods.vanished = true;
    else throw new ParseError('unknown fetch modifier');
    return null;
  }, false);
  // RFC 7162 §3.2.6: VANISHED needs CHANGEDSINCE.
  if (mods.vanished && mods.changedSince === null) throw new ParseError('VANISHED without CHANGEDSINCE');
  return mods;
}
