// DANE for SMTP (RFC 7672): the MX host's certificate is authenticated by its
// TLSA records (`_25._tcp.<mx>`), which count only when DNSSEC-validated.
// Usable for SMTP are DANE-TA(2) and DANE-EE(3) (RFC 7672 §3.1.3; PKIX-TA/EE
// are not). A record matches the full certificate (selector 0) or its
// SubjectPublicKeyInfo (selector 1), as is (0), or by SHA2-256 (1) / SHA2-512
// (2) digest (RFC 6698 §2.1). DANE-EE ignores names and dates (RFC 7672
// §3.1.1); DANE-TA needs a chain from the leaf to the matched certificate and
// the MX name in the leaf (RFC 7672 §3.2.2, §3.2.3).
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

export interface Tlsa {
  usage: number;
  selector: number;
  mtype: number;
  data: Buffer;
}

export type DaneResult = { ok: true; match: string } | { ok: false; reason: string };

/** RFC 7672 §3.1.3: only DANE-TA and DANE-EE with known selector and matching types. */
export function usableTlsa(records: Tlsa[]): Tlsa[] {
  return records.filter((r) => (r.usage === 2 || r.usage === 3) && r.selector <= 1 && r.mtype <= 2);
}

function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
}

function matches(cert: X509Certificate, r: Tlsa): boolean {
  const data = selected(cert, r.selector);
  const digest =
    r.mtype === 0
      ? data
      : createHash(r.mtype === 1 ? 'sha256' : 'sha512')
          .update(data)
          .digest();
  return digest.equals(r.data);
}

/** The chain as the server sent it, leaf first. */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

const label = (r: Tlsa) => `${r.usage} ${r.selector} ${r.mtype}`;

/** Does the chain `socket` presented satisfy one of `records` for a host called one of `names`? */
export function verifyDane(socket: TLSSocket, records: Tlsa[], names: string[]): DaneResult {
  const chain = peerChain(socket);
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: 'no certificate presented' };
  for (const r of records.filter((x) => x.usage === 3)) {
    if (matches(leaf, r)) return { ok: true, match: `dane-ee ${label(r)}` };
  }
  for (const r of records.filter((x) => x.usage === 2)) {
    const ta = chain.findIndex((c) => matches(c, r));
    if (ta < 0) continue;
    if (!chainsTo(chain.slice(0, ta + 1))) continue;
    // RFC 7672 §3.2.2: the reference identifiers are the MX host name and, when the TLSA records were
    // found at its CNAME-expanded name, that name too.
    if (!names.some((n) => leaf.checkHost(n, { wildcards: true, singleLabelSubdomains: false }))) {
      return { ok: false, reason: `certificate not valid for ${names.join(' or ')}` };
    }
    const now = Date.now();
    if (Date.parse(leaf.validTo) < now || Date.parse(leaf.validFrom) > now) {
      return { ok: false, reason: 'certificate expired or not yet valid' };
    }
    return { ok: true, match: `dane-ta ${label(r)}` };
  }
  return { ok: false, reason: 'no TLSA record matches the certificate chain' };
}

/** Each certificate is signed by the next one. */
function chainsTo(chain: X509Certificate[]): boolean {
  for (let i = 0; i + 1 < chain.length; i++) {
    const [c, issuer] = [chain[i] as X509Certificate, chain[i + 1] as X509Certificate];
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) return false;
  }
  return true;
}
