// Pure parsing of POP3 client lines: no sockets, no session. Tested with
// torture fixtures in test/parse.test.ts.
//
// RFC 1939 §3: a command is a case-insensitive keyword, possibly followed by
// arguments separated by a single space, ended by CRLF. We also accept a bare
// LF and runs of spaces, as every real server does.

export type ParsedCommand =
  | { ok: true; verb: string; args: string[]; rest: string }
  | { ok: false; reason: 'empty' | 'bad-verb' | 'bad-bytes' };

const VERB = /^[A-Za-z]{1,8}$/;

/** Strips the line end: CRLF, or a bare LF. */
export function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}

/**
 * `rest` is everything after the verb and its one separating space, unsplit:
 * RFC 1939 §7 lets PASS treat spaces as part of the password.
 */
export function parseCommandLine(line: Buffer): ParsedCommand {
  const bytes = stripEol(line);
  // NUL, other controls and stray CR have no place in a command (RFC 1939 §3).
  for (const b of bytes)
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) return { ok: false, reason: 'bad-bytes' };
  const text = bytes.toString('utf8');
  if (text.trim() === '') return { ok: false, reason: 'empty' };
  const space = text.indexOf(' ');
  const verb = space < 0 ? text : text.slice(0, space);
  if (!VERB.test(verb)) return { ok: false, reason: 'bad-verb' };
  const rest = space < 0 ? '' : text.slice(space + 1);
  const args = rest.split(' ').filter((a) => a.length > 0);
  return { ok: true, verb: verb.toUpperCase(), args, rest };
}

/** A decimal argument ≥ `min`; null if it is not one (signs, hex and exponents refused). */
export function parseNumber(arg: string | undefined, min: number): number | null {
  if (arg === undefined || !/^\d{1,9}$/.test(arg)) return null;
  const n = Number(arg);
  return n >= min ? n : null;
}

/** RFC 1939 §5: message numbers start at 1. */
export const parseMessageNumber = (arg: string | undefined): number | null => parseNumber(arg, 1);

export type SaslPlain = { ok: true; authzid: string; authcid: string; password: string } | { ok: false };

/**
 * RFC 4616 §2: message = [authzid] NUL authcid NUL passwd, base64 on the wire
 * (RFC 5034 §4). "=" stands for an empty initial response.
 */
export function decodeSaslPlain(base64: string): SaslPlain {
  const b64 = base64.trim();
  if (b64 === '=' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return { ok: false };
  const parts = Buffer.from(b64, 'base64').toString('utf8').split('\u0000');
  if (parts.length !== 3) return { ok: false };
  const [authzid, authcid, password] = parts as [string, string, string];
  if (!authcid || !password) return { ok: false };
  return { ok: true, authzid, authcid, password };
}
