// Where a command line announces a literal (RFC 3501 §7.5, RFC 7888): the
// transport uses this to read exactly n more bytes before the next line.
// Also extracts the tag early, so a refused literal can still be answered
// with a tagged BAD.

export interface LiteralAnnouncement {
  size: number;
  /** `{n+}`: the client does not wait for a "+" continuation (RFC 7888 §3). */
  nonSync: boolean;
}

/** Looks at the end of one line (with its CRLF) for `{n}` / `{n+}`. */
export function literalAtEnd(line: Buffer): LiteralAnnouncement | null | 'invalid' {
  let end = line.length;
  if (line[end - 1] === 0x0a) end--;
  if (line[end - 1] === 0x0d) end--;
  if (line[end - 1] !== 0x7d) return null; // }
  const open = line.lastIndexOf(0x7b, end - 1); // {
  if (open < 0) return null;
  const inner = line.toString('latin1', open + 1, end - 1);
  const m = /^(\d{1,10})(\+?)$/.exec(inner);
  if (!m) return inner.length > 0 && /^[\d+]+$/.test(inner) ? 'invalid' : null;
  return { size: Number(m[1]), nonSync: m[2] === '+' };
}

/** The tag of a command, or '*' when the line does not start with a valid one (RFC 3501 §7.1.5). */
export function tagOf(line: Buffer): string {
  const sp = line.indexOf(0x20);
  const text = line.toString('latin1', 0, sp < 0 ? Math.min(line.length, 64) : sp).replace(/\r?\n$/, '');
  return /^[\x21-\x7e]+$/.test(text) && !/[(){%*"\\+]/.test(text) && text.length <= 64 ? text : '*';
}
