// SORT and THREAD arguments (RFC 5256 §4 sort, thread; RFC 5957 §4
// DISPLAYFROM/DISPLAYTO). The charset is mandatory; the search criteria are
// SEARCH's grammar, parsed by search-args.ts (so CHARSET handling, BADCHARSET
// and nesting caps are the same). Like Dovecot, a key given twice counts
// once, and "REVERSE REVERSE" cancels out.
import { ParseError, Reader } from './reader.js';
import { parseSearch, type SearchProgram } from './search-args.js';

export const SORT_KEYS = [
  'ARRIVAL',
  'CC',
  'DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

export interface SortArgs {
  criteria: SortCriterion[];
  search: SearchProgram;
}

export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';

export interface ThreadArgs {
  algorithm: ThreadAlgorithm;
  search: SearchProgram;
}

/** SP charset 1*(SP search-key): hands "CHARSET <charset> <keys>" to the SEARCH parser. */
function charsetAndKeys(r: Reader): SearchProgram {
  r.sp();
  const charset = r.astring().toString('latin1');
  const head = Buffer.from(` CHARSET "${charset.replace(/[\\"]/g, '\\$&')}"`, 'latin1');
  const sub = new Reader(Buffer.concat([head, r.buf.subarray(r.pos)]));
  const search = parseSearch(sub);
  r.pos = r.buf.length - (sub.buf.length - sub.pos);
  if (search.returnOpts) throw new ParseError('RETURN is not allowed here');
  return search;
}

/** SP "(" sort-criterion *(SP sort-criterion) ")" SP charset 1*(SP search-key) */
export function parseSort(r: Reader): SortArgs {
  r.sp();
  const criteria: SortCriterion[] = [];
  let reverse = false;
  let lastReverse = false;
  r.list(() => {
    const word = r.astring().toString('latin1').toUpperCase();
    lastReverse = word === 'REVERSE';
    if (lastReverse) {
      reverse = !reverse;
      return;
    }
    if (!SORT_KEYS.includes(word as SortKey)) throw new ParseError('unknown sort key');
    if (criteria.some((c) => c.key === word)) return;
    criteria.push({ key: word as SortKey, reverse });
    reverse = false;
  }, false);
  if (lastReverse) throw new ParseError('sort criteria end with REVERSE');
  return { criteria, search: charsetAndKeys(r) };
}

/** SP thread-alg SP charset 1*(SP search-key) */
export function parseThread(r: Reader): ThreadArgs {
  r.sp();
  const algorithm = r.atom().toUpperCase();
  if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES')
    throw new ParseError('unknown thread algorithm');
  return { algorithm, search: charsetAndKeys(r) };
}
