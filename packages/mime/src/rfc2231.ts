// MIME parameter lists (RFC 2045 §5.1) with RFC 2231 §3/§4 continuations.
//
// Continuations `name*0`, `name*1*`, ... are joined in index order and reported
// under `name` (or `name*` when any segment is extended, the value then still in
// `charset'lang'%XX` form: IMAP BODYSTRUCTURE carries the parameter as sent,
// RFC 3501 §7.4.2 leaves decoding to the client). Gapped or duplicated indexes
// are reported unjoined. Broken parameters are skipped, the rest kept.

import type { Rfc822Parser } from './rfc822-tokens.js';

export interface Param {
  name: string;
  value: string;
}

interface Segment {
  key: string;
  value: string;
  idx: number;
  extended: boolean;
}

/** Maximum parameters kept per header; hostile input must not grow the index. */
const MAX_PARAMS = 256;

export function parseParams(p: Rfc822Parser): Param[] {
  const result: Param[] = [];
  const segments: Segment[] = [];
  // The index is deliberately carried over between parameters when a key ends
  // in a bare '*' (no digits), matching the reference implementation.
  let idx = 0;
  for (;;) {
    const [ret, key, value] = p.contentParam();
    if (ret === 0) break;
    if (ret < 0) {
      if (p.atEnd()) break;
      p.pos++;
      continue;
    }
    if (result.length + segments.length >= MAX_PARAMS) continue;
    const star = key.indexOf('*');
    if (star < 0) {
      result.push({ name: key, value });
      continue;
    }
    let i = star;
    if (key[i + 1] !== undefined) {
      i++;
      idx = 0;
      while (i < key.length && key.charCodeAt(i) >= 0x30 && key.charCodeAt(i) <= 0x39) {
        idx = idx * 10 + key.charCodeAt(i) - 0x30;
        i++;
      }
    }
    let extended = false;
    if (key[i] === '*') {
      extended = true;
      i++;
    }
    if (i < key.length) {
      result.push({ name: key, value });
      continue;
    }
    segments.push({ key: key.slice(0, star), value, idx, extended });
  }
  if (segments.length === 0) return result;

  segments.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.idx - b.idx));
  for (let i = 0; i < segments.length; ) {
    const first = segments[i] as Segment;
    let ok = true;
    let haveExtended = false;
    let nextIdx = 0;
    let j = i;
    for (; j < segments.length; j++) {
      const s = segments[j] as Segment;
      if (s.key.toLowerCase() !== first.key.toLowerCase()) break;
      if (s.idx !== nextIdx) ok = false;
      if (s.extended) haveExtended = true;
      nextIdx++;
    }
    if (!ok) {
      for (let k = i; k < j; k++) {
        const s = segments[k] as Segment;
        result.push({ name: `${s.key}*${s.idx}${s.extended ? '*' : ''}`, value: s.value });
      }
    } else {
      let value = !first.extended && haveExtended ? "''" : '';
      for (let k = i; k < j; k++) {
        const s = segments[k] as Segment;
        value += !s.extended && haveExtended ? s.value.replaceAll('%', '%25') : s.value;
      }
      result.push({ name: haveExtended ? `${first.key}*` : first.key, value });
    }
    i = j;
  }
  return result;
}
