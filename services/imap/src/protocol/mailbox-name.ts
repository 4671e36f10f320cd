// Mailbox names on the wire → canonical folder names (RFC 3501 §5.1).
// Hierarchy delimiter is "." (Maildir++ on disk: `.a.b`). INBOX is
// case-insensitive (§5.1). Refused: invalid modified UTF-7 (§5.1.3), empty
// levels ("a..b", leading/trailing "."), "/", control characters. After
// ENABLE UTF8=ACCEPT names are UTF-8 both ways (RFC 6855 §3).
import { isUtf8 } from 'node:buffer';
import { decodeMailboxName, encodeMailboxName } from './mutf7.js';

export const DELIMITER = '.';

/** Well-formed syntax naming an impossible mailbox: NO [CANNOT], not BAD. */
export class InvalidMailboxName extends Error {
  constructor() {
    super('invalid mailbox name');
  }
}

export type NameResult = { ok: true; name: string } | { ok: false };

export function mailboxFromWire(wire: Buffer, utf8 = false): NameResult {
  // RFC 6855 §3: UTF-8 names must be valid UTF-8 (no U+FFFD stand-ins for bad bytes).
  if (utf8 && !isUtf8(wire)) return { ok: false };
  const text = wire.toString(utf8 ? 'utf8' : 'latin1');
  const decoded = utf8 ? text : decodeMailboxName(text);
  if (decoded === null || decoded.length === 0 || decoded.length > 255) return { ok: false };
  if (decoded.toUpperCase() === 'INBOX') return { ok: true, name: 'INBOX' };
  // RFC 6855 §3 (and RFC 3501 §5.1): no C0/C1 controls, DEL, U+2028/U+2029; "/" and "\" are ours.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029/\\]/.test(decoded)) return { ok: false };
  const parts = decoded.split(DELIMITER);
  if (parts.some((p) => p.length === 0)) return { ok: false };
  // "INBOX.x" is a child of INBOX; keep its first level canonical.
  if ((parts[0] as string).toUpperCase() === 'INBOX') parts[0] = 'INBOX';
  return { ok: true, name: parts.join(DELIMITER) };
}

export function mailboxToWire(name: string, utf8 = false): string {
  return utf8 ? name : encodeMailboxName(name);
}
