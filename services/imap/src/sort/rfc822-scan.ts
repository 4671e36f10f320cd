// A minimal RFC 5322 token scanner over a binary string, for the two header
// parsers SORT and THREAD need beyond @postamt/mime: the Date field as a UTC
// instant (sort-date.ts) and msg-id lists (message-id.ts). It follows the
// usual lenient rules: CFWS (white space, folding, nested comments) may
// stand between any two tokens; 8-bit bytes count as atext.

// RFC 5322 §3.2.3 atext: ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~", plus 8-bit.
const ATEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  ATEXT[c] =
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80 ? 1 : 0;
}
for (const ch of "!#$%&'*+-/=?^_`{|}~") ATEXT[ch.charCodeAt(0)] = 1;

export class Scanner {
  pos: number;
  constructor(
    readonly s: string,
    pos = 0,
  ) {
    this.pos = pos;
  }

  /** The byte at the cursor; 0 past the end (as the NUL after a C string). */
  cur(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : 0;
  }

  /** Skips CFWS: 1 when text follows, 0 at the end, -1 on an unterminated comment. */
  skipCfws(): number {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) this.pos++;
      else if (c === 0x28) {
        let depth = 0;
        for (; this.pos < s.length; this.pos++) {
          const d = s.charCodeAt(this.pos);
          if (d === 0x5c) this.pos++;
          else if (d === 0x28) depth++;
          else if (d === 0x29 && --depth === 0) break;
        }
        if (this.pos >= s.length) return -1;
        this.pos++;
      } else return 1;
    }
    return 0;
  }

  /** atom = [CFWS] 1*atext [CFWS] (leading CFWS already skipped); -1 when no atext is next. */
  atom(out: { s: string }): number {
    const start = this.pos;
    while (this.pos < this.s.length && ATEXT[this.s.charCodeAt(this.pos)]) this.pos++;
    if (this.pos === start) return -1;
    out.s += this.s.slice(start, this.pos);
    return this.skipCfws();
  }

  /** dot-atom: atoms joined by "." with CFWS allowed around the dots. */
  dotAtom(out: { s: string }): number {
    for (;;) {
      const ret = this.atom(out);
      if (ret <= 0 || this.cur() !== 0x2e) return ret;
      this.pos++;
      out.s += '.';
      const r2 = this.skipCfws();
      if (r2 <= 0) return r2;
    }
  }

  /** quoted-string, its content unescaped and unfolded. */
  quoted(out: { s: string }): number {
    const s = this.s;
    for (this.pos++; this.pos < s.length; this.pos++) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return this.skipCfws();
      }
      if (c === 0x0d || c === 0x0a) continue;
      if (c === 0x5c) {
        this.pos++;
        if (this.pos >= s.length) return -1;
      }
      out.s += s[this.pos];
    }
    return -1;
  }
}
