// The DATA decoder (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and finds
// the end of the message, chunk by chunk, without buffering. Pure: bytes in,
// message bytes out. Only <CRLF>.<CRLF> ends DATA — the CRLF before the dot may
// be the one that ended the DATA command. A dot line ended by a bare LF or a
// bare CR, or a dot after a bare LF or CR, is message text (this is what makes
// SMTP smuggling impossible here); the decoder counts bare CRs and LFs and
// flags such "dot next to a bare newline" sequences so the session can refuse
// the message when configured to (see SmtpServerOptions.bareNewlineDot).
// The message bytes are passed on verbatim: lines are not normalised.

const CR = 13;
const LF = 10;
const DOT = 46;
const CR_BUF = Buffer.from([CR]);

/** Index of `octet` in `chunk` from `from`, or the chunk's length when there is none. */
function find(chunk: Buffer, octet: number, from: number): number {
  const at = chunk.indexOf(octet, from);
  return at < 0 ? chunk.length : at;
}

enum S {
  /** Just after CRLF: a dot here is stuffing or the end marker. */
  LineStart,
  Mid,
  /** A CR was seen (and passed on) as the last octet of the previous chunk. */
  Cr,
  /** A dot at line start was seen and dropped. */
  Dot,
  /** `.` CR at line start, both held back: LF ends the message. */
  DotCr,
}

export class DotDecoder {
  private state = S.LineStart;
  /** The previous octet was a bare LF or a bare CR. */
  private afterBare = false;
  bareLf = 0;
  bareCr = 0;
  /** A dot line next to a bare LF/CR: `\n.`, `\r.`, `.\n`, `.\r` at a line start. */
  suspectDot = false;
  done = false;

  /**
   * Decodes one chunk. `data` are the message bytes in it (subarrays, not
   * copies); `end` is where the input after the end marker starts, or -1 when
   * the message goes on.
   */
  write(chunk: Buffer): { data: Buffer[]; end: number } {
    const data: Buffer[] = [];
    let start = 0;
    let i = 0;
    const n = chunk.length;
    let nextCr = -1;
    let nextLf = -1;
    while (i < n) {
      let b = chunk[i] as number;
      switch (this.state) {
        case S.LineStart:
          if (b === DOT) {
            if (i > start) data.push(chunk.subarray(start, i));
            start = i + 1;
            this.state = S.Dot;
            i++;
          } else {
            this.state = S.Mid; // the same octet, judged as text
          }
          break;
        case S.Mid:
          if (this.afterBare) {
            this.afterBare = false;
            if (b === DOT) this.suspectDot = true;
          } else {
            // Mid-line only CR and LF matter: jump to the nearer one with a native
            // search (positions are kept, so each octet is searched once per chunk).
            if (nextCr < i) nextCr = find(chunk, CR, i);
            if (nextLf < i) nextLf = find(chunk, LF, i);
            i = Math.min(nextCr, nextLf);
            if (i >= n) break;
            b = chunk[i] as number;
          }
          if (b === CR) {
            if (i + 1 < n) {
              if (chunk[i + 1] === LF) {
                this.state = S.LineStart;
                i += 2;
              } else {
                this.bareCr++;
                this.afterBare = true;
                i++;
              }
            } else {
              this.state = S.Cr;
              i++;
            }
          } else {
            if (b === LF) {
              this.bareLf++;
              this.afterBare = true;
            }
            i++;
          }
          break;
        case S.Cr:
          if (b === LF) {
            this.state = S.LineStart;
            i++;
          } else {
            this.bareCr++;
            this.afterBare = true;
            this.state = S.Mid;
          }
          break;
        case S.Dot:
          if (b === CR) {
            // Held back: if LF follows, neither is message text.
            start = i + 1;
            this.state = S.DotCr;
            i++;
          } else {
            if (b === LF) this.suspectDot = true;
            this.state = S.Mid;
          }
          break;
        case S.DotCr:
          if (b === LF) {
            this.done = true;
            return { data, end: i + 1 };
          }
          // `.` CR x: the CR was a bare one; pass it on and judge x as text.
          data.push(CR_BUF);
          this.bareCr++;
          this.suspectDot = true;
          this.afterBare = true;
          start = i;
          this.state = S.Mid;
          break;
      }
    }
    if (n > start && this.state !== S.DotCr) data.push(chunk.subarray(start, n));
    return { data, end: -1 };
  }
}
