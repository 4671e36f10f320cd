// Parses DNSBL/DNSWL site specs in Postfix postscreen_dnsbl_sites syntax:
// `zone[=filter][*weight]`, where the filter matches the returned A record
// octet by octet: `127.0.0.2`, `127.0.0.[2..11]`, `127.0.[0..255].[2;3]`.
// A negative weight makes the zone an allowlist (DNSWL).

export interface DnsblSite {
  zone: string;
  /** One matcher per octet; absent: any 127.0.0.0/8 answer except 127.255.255.x (list errors). */
  filter?: ((octet: number) => boolean)[];
  weight: number;
}

function octetMatcher(spec: string): ((o: number) => boolean) | null {
  if (/^\d{1,3}$/.test(spec)) return (o) => o === Number(spec);
  const range = /^\[(\d{1,3})\.\.(\d{1,3})\]$/.exec(spec);
  if (range) return (o) => o >= Number(range[1]) && o <= Number(range[2]);
  const list = /^\[(\d{1,3}(?:;\d{1,3})*)\]$/.exec(spec);
  if (list?.[1]) {
    const set = new Set(list[1].split(';').map(Number));
    return (o) => set.has(o);
  }
  return null;
}

export function parseDnsblSite(spec: string): DnsblSite | null {
  const m = /^([a-z0-9.-]+?)(?:=([0-9.[\];]+))?(?:\*(-?\d+))?$/i.exec(spec.trim());
  if (!m?.[1]) return null;
  const site: DnsblSite = { zone: m[1].toLowerCase(), weight: m[3] ? Number(m[3]) : 1 };
  if (m[2]) {
    // Dots separate octets, except inside a [n..m] range.
    const parts = m[2].match(/\[[^\]]*\]|\d{1,3}/g) ?? [];
    if (parts.join('.') !== m[2]) return null;
    if (parts.length !== 4) return null;
    const matchers = parts.map(octetMatcher);
    if (matchers.some((x) => x === null)) return null;
    site.filter = matchers as ((o: number) => boolean)[];
  }
  return site;
}

export function siteMatches(site: DnsblSite, address: string): boolean {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4) return false;
  if (site.filter) return site.filter.every((f, i) => f(octets[i] as number));
  return octets[0] === 127 && !(octets[1] === 255 && octets[2] === 255);
}
