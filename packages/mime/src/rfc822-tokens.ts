// RFC 5322 §3.2 lexical tokens (CFWS, atom, dot-atom, quoted-string, phrase,
// domain) and RFC 2045 §5.1 MIME tokens, over a binary string (one char per byte).
//
// Return convention (kept from the grammar-driven parsers the corpus answers come
// from): -1 syntax error, 0 input ended, 1 more input follows. Parsing is lenient
// in the same places, because IMAP clients expect the same ENVELOPE and
// BODYSTRUCTURE answers for broken headers as for good ones.

/** 1 = atext, 2 = alpha/digit/8-bit, 4 = atext that is a MIME tspecial ('/', '=', '?'). */
const ATEXT = new Uint8Array(256);
{
  const ascii =
    '0101111100110104' + // 32-47  (" !"#$%&'()*+,-./")
    '2222222222000404' + // 48-63
    '0222222222222222' + // 64-79
    '2222222222200011' + // 80-95
    '1222222222222222' + // 96-111
    '2222222222211110'; // 112-127
  for (let i = 0; i < 96; i++) ATEXT[32 + i] = Number(ascii[i]);
  for (let i = 128; i < 256; i++) ATEXT[i] = 2;
}

/** `c` is -1 at the end of input, which is not atext. */
export const isAtext = (c: number): boolean => (ATEXT[c] ?? 0) !== 0;
const isMimeTokenChar = (c: number): boolean => ((ATEXT[c] ?? 0) & 3) !== 0 || c === 0x2e;

export class Rfc822Parser {
  pos: number;
  /** Text of the last comment skipped, when the caller asked to keep it. */
  lastComment: string | null;

  constructor(
    readonly data: string,
    keepComments = false,
  ) {
    this.pos = 0;
    this.lastComment = keepComments ? '' : null;
  }

  get end(): number {
    return this.data.length;
  }
  atEnd(): boolean {
    return this.pos >= this.data.length;
  }
  cur(): number {
    return this.pos < this.data.length ? this.data.charCodeAt(this.pos) : -1;
  }

  /** RFC 5322 §3.2.2 comment, nested, with quoted-pairs. */
  skipComment(): number {
    let level = 1;
    if (this.lastComment !== null) this.lastComment = '';
    let start = ++this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 0x28) level++;
      else if (c === 0x29) {
        if (--level === 0) {
          if (this.lastComment !== null) this.lastComment += this.data.slice(start, this.pos);
          this.pos++;
          return this.pos < this.end ? 1 : 0;
        }
      } else if (c === 0x5c) {
        if (this.lastComment !== null) this.lastComment += this.data.slice(start, this.pos);
        start = this.pos + 1;
        this.pos++;
        if (this.pos >= this.end) return -1;
      }
    }
    return -1;
  }

  /** Skip white space (including CR/LF) and comments: RFC 5322 CFWS. */
  skipLwsp(): number {
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 13 || c === 10) {
        this.pos++;
        continue;
      }
      if (c !== 0x28) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.pos < this.end ? 1 : 0;
  }

  atom(out: { s: string }): number {
    if (this.atEnd() || !isAtext(this.cur())) return -1;
    const start = this.pos++;
    while (this.pos < this.end && isAtext(this.cur())) this.pos++;
    out.s += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** dot-atom, allowing CFWS around '.' for RFC 822 compatibility. */
  dotAtom(out: { s: string }): number {
    if (this.atEnd() || !isAtext(this.cur())) return -1;
    let start = this.pos++;
    while (this.pos < this.end) {
      if (isAtext(this.cur())) {
        this.pos++;
        continue;
      }
      out.s += this.data.slice(start, this.pos);
      let ret = this.skipLwsp();
      if (ret <= 0) return ret;
      if (this.cur() !== 0x2e) return 1;
      this.pos++;
      out.s += '.';
      ret = this.skipLwsp();
      if (ret <= 0) return ret;
      start = this.pos;
    }
    out.s += this.data.slice(start, this.pos);
    return 0;
  }

  /** RFC 2045 §5.1 token (also accepts '.'). May be empty. */
  mimeToken(out: { s: string }): number {
    const start = this.pos;
    while (this.pos < this.end && isMimeTokenChar(this.cur())) this.pos++;
    out.s += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** RFC 5322 §3.2.4 quoted-string; folding CRLFs are removed. */
  quotedString(out: { s: string }): number {
    this.pos++;
    let start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 0x22) {
        out.s += this.data.slice(start, this.pos);
        this.pos++;
        return this.skipLwsp();
      }
      if (c === 10) {
        let len = this.pos - start;
        if (len > 0 && this.data.charCodeAt(start + len - 1) === 13) len--;
        out.s += this.data.slice(start, start + len);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        out.s += this.data.slice(start, this.pos - 1);
        start = this.pos;
      }
    }
    return -1;
  }

  private atomOrDot(out: { s: string }): number {
    const start = this.pos;
    while (this.pos < this.end && (isAtext(this.cur()) || this.cur() === 0x2e)) this.pos++;
    out.s += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** RFC 5322 §3.2.5 phrase, with obs-phrase dots; words joined by one space. */
  phrase(out: { s: string }): number {
    if (this.atEnd()) return 0;
    if (this.cur() === 0x2e) return -1;
    for (;;) {
      const ret = this.cur() === 0x22 ? this.quotedString(out) : this.atomOrDot(out);
      if (ret <= 0) return ret;
      const c = this.cur();
      if (!isAtext(c) && c !== 0x22 && c !== 0x2e) break;
      out.s += ' ';
    }
    return this.skipLwsp();
  }

  private domainLiteral(out: { s: string }): number {
    const start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.cur();
      if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) break;
      } else if (c === 0x5d) {
        this.pos++;
        out.s += this.data.slice(start, this.pos);
        return this.skipLwsp();
      }
    }
    return -1;
  }

  /** '@' domain (RFC 5322 §3.4.1): dot-atom or domain-literal. */
  domain(out: { s: string }): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.cur() === 0x5b ? this.domainLiteral(out) : this.dotAtom(out);
  }

  /**
   * RFC 2045 §5.1 `type "/" subtype`, followed by end of input or ';'.
   * On any syntax error nothing is appended: the type is unusable as a whole.
   */
  contentType(out: { s: string }): number {
    if (this.skipLwsp() <= 0) return -1;
    const t = { s: '' };
    if (this.mimeToken(t) <= 0 || t.s === '') return -1;
    if (this.cur() !== 0x2f) return -1;
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    const sub = { s: '' };
    const ret = this.mimeToken(sub);
    if (ret < 0 || sub.s === '') return -1;
    if (!this.atEnd() && this.cur() !== 0x3b) return -1;
    out.s += `${t.s}/${sub.s}`;
    return ret;
  }

  /** One `; attribute = value` of RFC 2045 §5.1. Returns [ret, key, value]. */
  contentParam(): [number, string, string] {
    if (this.atEnd()) return [0, '', ''];
    if (this.cur() !== 0x3b) return [-1, '', ''];
    this.pos++;
    if (this.skipLwsp() <= 0) return [-1, '', ''];
    const key = { s: '' };
    if (this.mimeToken(key) <= 0) return [-1, '', ''];
    if (this.cur() !== 0x3d) return [-1, '', ''];
    this.pos++;
    const value = { s: '' };
    let ret = this.skipLwsp();
    if (ret <= 0) {
      // broken / no value
    } else if (this.cur() === 0x22) {
      ret = this.quotedString(value);
    } else if (this.cur() === 0x3d) {
      // Broken but common: name==?utf-8?b?...?= (an unquoted encoded word).
      while (this.pos < this.end) {
        const c = this.cur();
        if (c === 0x3b || c === 32 || c === 9 || c === 13 || c === 10) break;
        value.s += this.data[this.pos];
        this.pos++;
      }
    } else {
      ret = this.mimeToken(value);
    }
    return [ret < 0 ? -1 : 1, key.s, value.s];
  }
}
