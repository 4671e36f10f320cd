// Syntax of the names a client gives us: HELO/EHLO argument, domains of MAIL
// FROM and RCPT TO. RFC 5321 §4.1.2 (Domain, address-literal) and §4.1.3
// (address literals), RFC 1123 §2.1 (host names may start with a digit).
import { isIP } from 'node:net';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A fully-qualified domain name: at least two labels, a non-numeric top label. */
export function isFqdn(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  const labels = n.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  // An all-numeric top label is an IP address written without brackets.
  return !/^\d+$/.test(labels[labels.length - 1] as string);
}

/** `[192.0.2.1]` → `192.0.2.1`, `[IPv6:2001:db8::1]` → `2001:db8::1`; anything else → null. */
export function parseAddressLiteral(value: string): string | null {
  const m = /^\[(?:IPv6:)?([0-9a-fA-F:.]+)\]$/i.exec(value);
  if (!m?.[1]) return null;
  const ip = m[1];
  const v6 = /^\[IPv6:/i.test(value);
  if (v6 ? isIP(ip) !== 6 : isIP(ip) !== 4) return null;
  return ip.toLowerCase();
}

/** The domain part of `local@domain`, lower-cased; null when there is none. */
export function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return address.slice(at + 1).toLowerCase();
}

/** RFC 5321 §4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ); here the domain must be an FQDN. */
export function isFqdnAddress(address: string): boolean {
  const domain = domainOf(address);
  return domain !== null && !/\s/.test(address) && isFqdn(domain);
}
