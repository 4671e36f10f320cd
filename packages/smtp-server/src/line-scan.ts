// Finding one command line in the input bytes. Pure. RFC 5321 §2.3.8: lines
// end in CRLF, and CR and LF never appear alone. As Postfix with
// smtpd_forbid_bare_newline = yes, a line ended by a bare LF, or holding a bare
// CR, is not a command: it is answered with 500 5.5.2 and the client is
// dropped — such a client is either broken or trying to desynchronise us from
// a downstream server (SMTP smuggling).

const CR = 13;
const LF = 10;

export type LineScan =
  /** No complete line yet, and not over the limit. */
  | { kind: 'need-more' }
  /** A line without its CRLF; `next` is where the following input starts. */
  | { kind: 'line'; line: Buffer; next: number }
  | { kind: 'bare-lf'; next: number }
  | { kind: 'bare-cr'; next: number }
  /** Over `max` octets; `next` is -1 when the end of the line has not arrived yet. */
  | { kind: 'too-long'; next: number };

/** `max` counts the CRLF, as RFC 5321 §4.5.3.1.4 does. */
export function scanLine(buf: Buffer, max: number): LineScan {
  const lf = buf.indexOf(LF);
  const end = lf < 0 ? buf.length : lf;
  const cr = buf.indexOf(CR);
  // A CR that is neither the last octet seen so far nor right before the LF.
  if (cr >= 0 && cr < end - 1) return { kind: 'bare-cr', next: lf < 0 ? buf.length : lf + 1 };
  if (cr >= 0 && lf < 0 && cr < buf.length - 1) return { kind: 'bare-cr', next: buf.length };
  if (lf < 0) return buf.length >= max ? { kind: 'too-long', next: -1 } : { kind: 'need-more' };
  if (lf === 0 || buf[lf - 1] !== CR) return { kind: 'bare-lf', next: lf + 1 };
  if (lf + 1 > max) return { kind: 'too-long', next: lf + 1 };
  return { kind: 'line', line: buf.subarray(0, lf - 1), next: lf + 1 };
}
