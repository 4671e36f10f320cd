// The Received header intake adds at the top of every message (RFC 5321
// §4.4): who sent it (HELO, reverse DNS, IP), who took it, how, the queue id,
// the recipient when there is exactly one, and when.

export interface ReceivedInfo {
  helo?: string;
  ptr?: string;
  ip: string;
  by: string;
  protocol: string;
  id: string;
  tls?: string;
  /** The SASL user of a submission (RFC 4954 §7 suggests noting it). */
  auth?: string;
  for?: string;
  date: Date;
}

/** RFC 5322 §3.3 date-time, e.g. `Sat, 28 Nov 2026 07:50:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Strips anything that could break the header (CR, LF, parentheses nesting is harmless). */
function clean(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 255);
}

export function receivedHeader(r: ReceivedInfo): Buffer {
  const who = r.auth ? `\r\n\t(Authenticated sender: ${clean(r.auth)})` : '';
  const from = `${clean(r.helo ?? 'unknown')} (${clean(r.ptr ?? 'unknown')} [${clean(r.ip)}])${who}`;
  const via = r.tls ? ` (using ${clean(r.tls)})` : '';
  const forClause = r.for ? `\r\n\tfor <${clean(r.for)}>` : '';
  return Buffer.from(
    `Received: from ${from}\r\n\tby ${clean(r.by)} (Postamt) with ${r.protocol} id ${r.id}${via}${forClause};\r\n\t${rfc5322Date(r.date)}\r\n`,
  );
}
