// UIDL unique-ids (RFC 1939 §7): 1 to 70 characters in 0x21-0x7E, the same
// for a message in every session. We derive them from the Maildir base name —
// the file name without the ":2," info part — which stays the same when the
// message moves new/ → cur/ or its flags change.
//
// A base name that is short and printable is used as is. Any other (longer
// than 70, or with bytes outside 0x21-0x7E) becomes "~" + base64url of its
// SHA-256, truncated to 40 characters (240 bits). Maildir names start with
// the delivery time, never "~", so the two forms do not collide.
import { createHash } from 'node:crypto';

const PRINTABLE = /^[\x21-\x7e]{1,70}$/;

export function uidFor(base: string): string {
  if (PRINTABLE.test(base)) return base;
  return `~${createHash('sha256').update(base, 'utf8').digest('base64url').slice(0, 40)}`;
}
