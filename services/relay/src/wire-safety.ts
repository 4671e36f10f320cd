// Envelope fields are checked before they reach the wire: a CR, LF or NUL in a
// path would let a spooled address inject SMTP commands (RFC 5321 §4.1.1 and
// §2.3.8: lines end only with CRLF). Addresses must also be within the RFC 5321
// §4.5.3.1 size limits and have a domain to route on.

const FORBIDDEN = /[\u0000-\u001f\u007f<>\s]/;

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the brackets. */
const MAX_PATH = 254;
/** RFC 5321 §4.5.3.1.1 and §4.5.3.1.2. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;

export type AddressProblem = 'control-characters' | 'too-long' | 'no-domain';

/** Null when `address` may be written into MAIL FROM or RCPT TO. */
export function addressProblem(address: string): AddressProblem | null {
  if (FORBIDDEN.test(address)) return 'control-characters';
  if (Buffer.byteLength(address) > MAX_PATH) return 'too-long';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'no-domain';
  if (Buffer.byteLength(address.slice(0, at)) > MAX_LOCAL) return 'too-long';
  if (address.length - at - 1 > MAX_DOMAIN) return 'too-long';
  return null;
}

/** The reverse-path may also be empty (`<>`). */
export function senderProblem(mailFrom: string): AddressProblem | null {
  return mailFrom === '' ? null : addressProblem(mailFrom);
}

/** Lower-cased domain of an address already checked by addressProblem. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Text from a remote server made safe for a log line or a DSN field: one line, printable ASCII. */
export function oneLine(text: string, max = 500): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, max);
}
