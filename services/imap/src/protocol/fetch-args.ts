// FETCH data items (RFC 3501 §6.4.5, §9 fetch-att): macros, BODY[section]<partial>,
// BODY.PEEK, HEADER.FIELDS (.NOT). Pure parse into a typed list.
import { ParseError, type Reader } from './reader.js';

export interface Section {
  /** Part path, e.g. [1, 2] for "1.2"; empty for the whole message. */
  part: number[];
  text: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME' | null;
  /** Upper-cased header field names for HEADER.FIELDS(.NOT). */
  fields: string[];
}

export type FetchAtt =
  | { kind: 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'UID' }
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
