// Response data encoding (RFC 3501 §4, §9): atoms, quoted strings, literals,
// NIL and parenthesised lists. A response is built as a list of chunks so
// message bytes are never converted to text.

/** A value in a response: strings are encoded by the rules below, raw text is written as is. */
export type Wire = string | Buffer | null | number | Raw | Wire[];

export class Raw {
  constructor(readonly text: string) {}
}

/** Written verbatim: atoms, flags, section labels, already-encoded data. */
export const raw = (text: string): Raw => new Raw(text);

/** Quoted strings may hold any 7-bit char except CR, LF, NUL (RFC 3501 §4.3). */
function quotable(b: Buffer): boolean {
  if (b.length > 1024) return false;
  for (const c of b) if (c === 0 || c === 0x0d || c === 0x0a || c > 0x7f) return false;
  return true;
}

/** string as quoted when possible, else as a literal. */
export function encodeString(value: string | Buffer): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (quotable(b)) {
    return Buffer.from(`"${b.toString('latin1').replace(/[\\"]/g, (m) => `\\${m}`)}"`, 'latin1');
  }
  return Buffer.concat([Buffer.from(`{${b.length}}\r\n`), b]);
}

/** Always a literal: message data, so its bytes are served exactly (RFC 3501 §7.4.2). */
export function literal(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${value.length}}\r\n`), value]);
}

function encodeInto(value: Wire, out: Buffer[]): void {
  if (value === null) out.push(Buffer.from('NIL'));
  else if (typeof value === 'number') out.push(Buffer.from(String(value)));
  else if (value instanceof Raw) out.push(Buffer.from(value.text, 'latin1'));
  else if (Array.isArray(value)) {
    out.push(Buffer.from('('));
    value.forEach((v, i) => {
      if (i > 0) out.push(Buffer.from(' '));
      encodeInto(v, out);
    });
    out.push(Buffer.from(')'));
  } else if (Buffer.isBuffer(value)) out.push(literal(value));
  else out.push(encodeString(value));
}

export function encode(value: Wire): Buffer {
  const out: Buffer[] = [];
  encodeInto(value, out);
  return Buffer.concat(out);
}

/** Space-joined values (the body of an untagged response). */
export function encodeAll(values: readonly Wire[]): Buffer {
  const out: Buffer[] = [];
  values.forEach((v, i) => {
    if (i > 0) out.push(Buffer.from(' '));
    encodeInto(v, out);
  });
  return Buffer.concat(out);
}

/**
 * astring for mailbox names in LIST/STATUS: atom when it can be, else quoted/literal.
 * With `utf8` (UTF8=ACCEPT enabled) a non-ASCII name is a quoted string of
 * UTF-8 (RFC 6855 §3: quoted =/ DQUOTE *uQUOTED-CHAR DQUOTE).
 */
export function astring(s: string, utf8 = false): Wire {
  if (/^[\x21-\x7e]+$/.test(s) && !/[(){%*"\\]/.test(s) && s.toUpperCase() !== 'NIL') return raw(s);
  if (utf8 && /[^\x00-\x7f]/.test(s) && !/[\x00-\x1f\x7f]/.test(s) && Buffer.byteLength(s) <= 1024)
    return raw(
      `"${Buffer.from(
        s.replace(/[\\"]/g, (m) => `\\${m}`),
        'utf8',
      ).toString('latin1')}"`,
    );
  return s;
}
