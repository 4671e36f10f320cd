// Paths in MAIL FROM and RCPT TO (RFC 5321 §4.1.2): `<` [source route `:`]
// mailbox `>`. Pure functions. The source route is accepted and dropped
// (RFC 5321 §4.1.1.3, Appendix C), so a relay check always sees the final
// mailbox. Local parts are judged leniently (as Postfix does, many real
// addresses are not dot-atoms), but never contain spaces, controls or angle
// brackets outside a quoted string; domains are names or address literals.
// Non-ASCII is reported so the session can require SMTPUTF8 (RFC 6531 §3.3).

export interface ParsedPath {
  /** The mailbox, `local@domain`; the empty string for the null path `<>`. */
  address: string;
  /** True when the mailbox has non-ASCII characters (needs SMTPUTF8). */
  utf8: boolean;
}

/** RFC 5321 §4.5.3.1.1–3. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;
const MAX_PATH = 256;

// Local part characters outside quotes: atext and dots (RFC 5321 §4.1.2), UTF-8 allowed.
const LOCAL_UNQUOTED = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u0080-\u{10ffff}]+$/u;
const QUOTED = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\u{10ffff}]|\\[\x20-\x7e])*"$/u;
const LABEL =
  /^[A-Za-z0-9\u0080-\u{10ffff}](?:[A-Za-z0-9\-\u0080-\u{10ffff}]*[A-Za-z0-9\u0080-\u{10ffff}])?$/u;
const ADDRESS_LITERAL =
  /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]$/;

/** The index of the `@` that separates local part and domain: the last one outside quotes. */
function splitAt(mailbox: string): number {
  let inQuote = false;
  let at = -1;
  for (let i = 0; i < mailbox.length; i++) {
    const c = mailbox[i];
    if (c === '\\' && inQuote) i++;
    else if (c === '"') inQuote = !inQuote;
    else if (c === '@' && !inQuote) at = i;
  }
  return inQuote ? -1 : at;
}

export function isDomain(domain: string): boolean {
  if (domain.length === 0 || domain.length > MAX_DOMAIN) return false;
  if (domain.startsWith('[')) return ADDRESS_LITERAL.test(domain);
  return domain.split('.').every((l) => l.length <= 63 && LABEL.test(l));
}

/** A mailbox `local@domain` (no angle brackets). */
export function parseMailbox(mailbox: string): ParsedPath | null {
  const at = splitAt(mailbox);
  if (at <= 0) return null;
  const local = mailbox.slice(0, at);
  const domain = mailbox.slice(at + 1);
  if (Buffer.byteLength(local) > MAX_LOCAL && !local.startsWith('"')) return null;
  if (!(LOCAL_UNQUOTED.test(local) || QUOTED.test(local))) return null;
  if (!isDomain(domain)) return null;
  return { address: mailbox, utf8: /[^\u0000-\u007f]/.test(mailbox) };
}

/** The path inside the brackets: optional source route, then the mailbox. Empty means `<>`. */
export function parsePath(path: string): ParsedPath | null {
  if (Buffer.byteLength(path) > MAX_PATH) return null;
  if (path === '') return { address: '', utf8: false };
  let mailbox = path;
  if (path.startsWith('@')) {
    // A-d-l = At-domain *( "," At-domain ) ":" — RFC 5321 §4.1.2.
    const colon = path.indexOf(':');
    if (colon < 0) return null;
    const route = path.slice(0, colon).split(',');
    if (!route.every((hop) => hop.startsWith('@') && isDomain(hop.slice(1)))) return null;
    mailbox = path.slice(colon + 1);
  }
  return parseMailbox(mailbox);
}
