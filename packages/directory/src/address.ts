// Mail address handling for lookups. RFC 5321 §2.4: the domain is
// case-insensitive; the local part is case-sensitive in theory, but every
// real mail server matches it case-insensitively, and so do we. IDN domains are
// stored in A-label form so `bücher.example` and `xn--bcher-kva.example` meet.
import { domainToASCII } from 'node:url';

export interface ParsedAddress {
  local: string;
  domain: string;
}

export function splitAddress(address: string): ParsedAddress | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The domain in lowercase A-label form, or null if it is not a valid domain. */
export function normalizeDomain(domain: string): string | null {
  const ascii = domainToASCII(domain.trim().replace(/\.$/, ''));
  return ascii ? ascii.toLowerCase() : null;
}

/** The lookup key of an address: local part lowercased, domain normalized. */
export function addressKey(address: string): string | null {
  const parts = splitAddress(address.trim());
  if (!parts) return null;
  const domain = normalizeDomain(parts.domain);
  if (!domain) return null;
  return `${parts.local.normalize('NFC').toLowerCase()}@${domain}`;
}
