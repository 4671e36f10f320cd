// A cursor over one complete command as it arrived on the wire: the command
// line(s) with every literal's bytes inline after its `{n}\r\n` (the framing
// layer has already read exactly n bytes per literal). Pure: no I/O.
//
// Grammar names follow RFC 3501 §9 (atom, astring, nstring, literal, ...)
// and RFC 7888 (non-synchronizing literals `{n+}`). Every violation throws
// ParseError, which the dispatcher turns into a tagged BAD (RFC 3501 §7.1.5).

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}

/** RFC 3501 §9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials. */
export function isAtomChar(c: number): boolean {
  return (
    c > 0x20 &&
    c < 0x7f &&
    c !== 0x28 && // (
    c !== 0x29 && // )
    c !== 0x7b && // {
    c !== 0x25 && // %
    c !== 0x2a && // *
    c !== 0x22 && // "
    c !== 0x5c && // \
    c !== 0x5d // ]
  );
}

/** ASTRING-CHAR = ATOM-CHAR / resp-specials (RFC 3501 §9). */
const isAstringChar = (c: number): boolean => isAtomChar(c) || c === 0x5d;
/** list-char = ATOM-CHAR / list-wildcards / resp-specials (RFC 3501 §9). */
const isListChar = (c: number): boolean => isAstringChar(c) || c === 0x25 || c === 0x2a;

export const MAX_DEPTH = 16;

export class Reader {
  pos = 0;
  depth = 0;

  constructor(readonly buf: Buffer) {}

  peek(): number {
    return this.pos < this.buf.length ? (this.buf[this.pos] as number) : -1;
  }

  /** True at CRLF (or a bare LF) that ends the command. */
  atEnd(): boolean {
    const c = this.peek();
    return c === -1 || c === 0x0d || c === 0x0a;
  }

  end(): void {
    if (this.peek() === 0x0d) this.pos++;
    if (this.peek() === 0x0a) this.pos++;
    if (this.pos !== this.buf.length) throw new ParseError('unexpected characters after the command');
  }

  sp(): void {
    if (this.peek() !== 0x20) throw new ParseError('expected a space');
    this.pos++;
  }

  /** Consumes `ch` if it is next. */
  take(ch: string): boolean {
    if (this.peek() === ch.charCodeAt(0)) {
      this.pos++;
      return true;
    }
    return false;
  }

  expect(ch: string): void {
    if (!this.take(ch)) throw new ParseError(`expected "${ch}"`);
  }

  /** Case-insensitive keyword match, consumed only when it matches and is followed by a non-atom char. */
  keyword(word: string): boolean {
    const end = this.pos + word.length;
    if (end > this.buf.length) return false;
    if (this.buf.toString('latin1', this.pos, end).toUpperCase() !== word) return false;
    const next = end < this.buf.length ? (this.buf[end] as number) : -1;
    if (next !== -1 && isAtomChar(next) && !word.endsWith('[')) return false;
    this.pos = end;
    return true;
  }

  private run(pred: (c: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.buf.length && pred(this.buf[this.pos] as number)) this.pos++;
    return this.buf.toString('latin1', start, this.pos);
  }

  atom(): string {
    const s = this.run(isAtomChar);
    if (!s) throw new ParseError('expected an atom');
    return s;
  }

  /** An atom that may contain ']' too (tag excluded '+' by the caller). */
  astringAtom(): string {
    const s = this.run(isAstringChar);
    if (!s) throw new ParseError('expected an atom');
    return s;
  }

  /** tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9). */
  tag(): string {
    const s = this.run((c) => isAstringChar(c) && c !== 0x2b);
    if (!s) throw new ParseError('missing tag');
    return s;
  }

  number(): number {
    const s = this.run((c) => c >= 0x30 && c <= 0x39);
    if (!s) throw new ParseError('expected a number');
    // number = 1*DIGIT, unsigned 32-bit (RFC 3501 §9).
    const n = Number(s);
    if (s.length > 10 || n > 0xffffffff) throw new ParseError('number out of range');
    return n;
  }

  nzNumber(): number {
    const n = this.number();
    if (n === 0) throw new ParseError('expected a non-zero number');
    return n;
  }

  /** quoted = DQUOTE *QUOTED-CHAR DQUOTE; only \" and \\ are escapes (RFC 3501 §9). */
  quoted(): Buffer {
    this.expect('"');
    const out: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === -1 || c === 0x0d || c === 0x0a || c === 0) throw new ParseError('unterminated quoted string');
      this.pos++;
      if (c === 0x22) return Buffer.from(out);
      if (c === 0x5c) {
        const e = this.peek();
        if (e !== 0x22 && e !== 0x5c) throw new ParseError('invalid escape in quoted string');
        this.pos++;
        out.push(e);
      } else {
        out.push(c);
      }
    }
  }

  /** literal = "{" number ["+"] "}" CRLF *CHAR8 (RFC 3501 §9, RFC 7888 §3). */
  literal(): Buffer {
    this.expect('{');
    const n = this.number();
    this.take('+');
    this.expect('}');
    if (this.peek() === 0x0d) this.pos++;
    if (this.peek() !== 0x0a) throw new ParseError('literal not followed by CRLF');
    this.pos++;
    if (this.pos + n > this.buf.length) throw new ParseError('literal shorter than announced');
    const data = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return data;
  }

  /** string = quoted / literal */
  string(): Buffer {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b) return this.literal();
    throw new ParseError('expected a string');
  }

  isStringNext(): boolean {
    const c = this.peek();
    return c === 0x22 || c === 0x7b;
  }

  /** astring = 1*ASTRING-CHAR / string */
  astring(): Buffer {
    if (this.isStringNext()) return this.string();
    return Buffer.from(this.astringAtom(), 'latin1');
  }

  astringText(): string {
    return this.astring().toString('utf8');
  }

  /** nstring = string / nil */
  nstring(): Buffer | null {
    if (this.keyword('NIL')) return null;
    return this.string();
  }

  /** list-mailbox = 1*list-char / string (RFC 3501 §9). */
  listMailbox(): Buffer {
    if (this.isStringNext()) return this.string();
    const s = this.run(isListChar);
    if (!s) throw new ParseError('expected a mailbox pattern');
    return Buffer.from(s, 'latin1');
  }

  /** Parenthesised, space-separated list; `item` parses one element. Nesting is capped. */
  list<T>(item: () => T, allowEmpty = true): T[] {
    this.expect('(');
    if (++this.depth > MAX_DEPTH) throw new ParseError('too deeply nested');
    const out: T[] = [];
    if (!this.take(')')) {
      for (;;) {
        out.push(item());
        if (this.take(')')) break;
        this.sp();
      }
    }
    this.depth--;
    if (!allowEmpty && out.length === 0) throw new ParseError('empty list');
    return out;
  }

  /** Everything up to the end of the line, for AUTHENTICATE initial responses and the like. */
  rest(): string {
    const s = this.run((c) => c !== 0x0d && c !== 0x0a);
    return s;
  }
}
