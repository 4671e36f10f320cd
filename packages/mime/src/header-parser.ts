// Header block splitting (RFC 5322 §2.2, §2.2.3 folding) over a binary string.
//
// Invariants: a field is `name ":" value` with any continuation lines (lines that
// start with SP or HTAB); a line without ':' is a field with an empty name; the
// header ends at the first empty line, at the end of input, or (decided by the
// caller) at a MIME boundary. LF is the line end; a bare CR is ordinary data.
// Sizes count bytes as stored and in CRLF form, so IMAP sizes and offsets can be
// derived without touching the file again.

export interface HeaderField {
  /** Field name as written (bytes before ':', trailing SP/HTAB removed); '' if no ':'. */
  name: string;
  /** Value with leading white space removed; continuation lines keep their line break. */
  value: string;
  /** File offset of the first byte of the field. */
  start: number;
  /** File offset just past the field's last line end. */
  end: number;
  /** Lines of the field. */
  lines: number;
  /** Bytes in CRLF form. */
  virtual: number;
  /** Size of the last line end: 2 (CRLF), 1 (LF) or 0 (none, end of input). */
  lastNewline: number;
  hasNul: boolean;
}

export type HeaderStep =
  | { kind: 'eof' }
  | { kind: 'eoh'; end: number; virtual: number }
  | { kind: 'field'; field: HeaderField };

const isLwsp = (c: number): boolean => c === 32 || c === 9;

/** Reads the next field, or the end-of-header line, at `p`. */
export function nextHeader(s: string, p: number, maxValue: number): HeaderStep {
  const end = s.length;
  if (p >= end) return { kind: 'eof' };
  const c0 = s.charCodeAt(p);
  if (c0 === 10) return { kind: 'eoh', end: p + 1, virtual: 2 };
  if (c0 === 13 && s.charCodeAt(p + 1) === 10) return { kind: 'eoh', end: p + 2, virtual: 2 };

  let lf = s.indexOf('\n', p);
  const lineEnd = lf < 0 ? end : lf;
  // RFC 5322 §2.2: the name ends at the first ':' of the first line.
  const colon = s.indexOf(':', p);
  let name = '';
  let value: string;
  if (colon >= 0 && colon < lineEnd) {
    let ne = colon;
    while (ne > p && isLwsp(s.charCodeAt(ne - 1))) ne--;
    name = s.slice(p, ne);
    // Leading white space of the value is not part of it (unless that is all there is).
    const ve = contentEnd(s, p, lineEnd, lf);
    let vs = colon + 1;
    while (vs < ve && isLwsp(s.charCodeAt(vs))) vs++;
    if (vs === ve && ve > colon + 1) vs = colon + 2;
    value = s.slice(vs, ve);
  } else {
    value = s.slice(p, contentEnd(s, p, lineEnd, lf));
  }

  let lines = 0;
  let virtual = 0;
  let lastNewline = 0;
  let prevCrlf = false;
  let q = p;
  for (;;) {
    const e = lf < 0 ? end : lf + 1;
    if (lf < 0) {
      virtual += e - q;
      lastNewline = 0;
    } else {
      lines++;
      const crlf = lf > q && s.charCodeAt(lf - 1) === 13;
      virtual += e - q + (crlf ? 0 : 1);
      lastNewline = crlf ? 2 : 1;
    }
    if (q !== p && value.length < maxValue) {
      // Continuation line: kept with the line break before it (RFC 5322 §2.2.3
      // unfolding is left to each consumer, which treats CR/LF as white space).
      value += prevCrlf ? '\r\n' : '\n';
      value += s.slice(q, contentEnd(s, q, lf < 0 ? end : lf, lf));
    }
    prevCrlf = lastNewline === 2;
    q = e;
    if (lf < 0 || q >= end || !isLwsp(s.charCodeAt(q))) break;
    lf = s.indexOf('\n', q);
  }
  if (value.length > maxValue) value = value.slice(0, maxValue);
  const hasNul = s.slice(p, q).includes('\0');
  return {
    kind: 'field',
    field: { name, value, start: p, end: q, lines, virtual, lastNewline, hasNul },
  };
}

/** End of a line's content: before CRLF or LF, or at the end of input. */
function contentEnd(s: string, start: number, lineEnd: number, lf: number): number {
  if (lf >= 0 && lf > start && s.charCodeAt(lf - 1) === 13) return lf - 1;
  return lineEnd;
}

/** All fields of a header block starting at `p` (for HEADER.FIELDS and SEARCH). */
export function readHeaderFields(s: string, p: number, end: number): HeaderField[] {
  const view = end < s.length ? s.slice(0, end) : s;
  const out: HeaderField[] = [];
  for (;;) {
    const step = nextHeader(view, p, 1 << 20);
    if (step.kind !== 'field') return out;
    out.push(step.field);
    p = step.field.end;
  }
}
