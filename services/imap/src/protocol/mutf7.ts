// Modified UTF-7 mailbox names (RFC 3501 §5.1.3). Printable US-ASCII except
// '&' stands for itself; '&' is "&-"; anything else is UTF-16 in modified
// BASE64 (',' for '/', no padding) between '&' and '-'.
//
// Decoding is strict: a name that another server could not have produced
// (printable ASCII inside a shift, an unterminated shift, "&-" spelled as a
// shift, non-zero pad bits, lone surrogates, two adjacent shifts) is refused,
// so every mailbox has exactly one wire spelling.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const b64 = (n: number): string => B64.charAt(n & 63);

function encodeRun(run: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    bytes.push(c >> 8, c & 0xff);
  }
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += b64(n >> 18) + b64(n >> 12) + b64(n >> 6) + b64(n);
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = (bytes[i] as number) << 16;
    out += b64(n >> 18) + b64(n >> 12);
  } else if (left === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += b64(n >> 18) + b64(n >> 12) + b64(n >> 6);
  }
  return `&${out}-`;
}

const isDirect = (c: number): boolean => c >= 0x20 && c <= 0x7e;

/** Unicode → modified UTF-7. */
export function encodeMailboxName(name: string): string {
  let out = '';
  let run = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isDirect(c)) {
      if (run) {
        out += encodeRun(run);
        run = '';
      }
      out += c === 0x26 ? '&-' : name[i];
    } else {
      run += name[i];
    }
  }
  if (run) out += encodeRun(run);
  return out;
}

/** Modified UTF-7 → Unicode, or null when the spelling is not canonical or not valid. */
export function decodeMailboxName(wire: string): string | null {
  let out = '';
  let i = 0;
  let lastShiftEnd = -1;
  while (i < wire.length) {
    const c = wire.charCodeAt(i);
    if (!isDirect(c)) return null;
    if (c !== 0x26) {
      out += wire[i];
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    // Two shifts back to back should have been one (RFC 3501 §5.1.3 ¶ "&-" aside).
    if (lastShiftEnd === i) return null;
    const decoded = decodeRun(wire.slice(i + 1, end));
    if (decoded === null) return null;
    out += decoded;
    i = end + 1;
    lastShiftEnd = i;
  }
  return out;
}

function decodeRun(b64: string): string | null {
  let bits = 0;
  let acc = 0;
  const bytes: number[] = [];
  for (const ch of b64) {
    const v = B64.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0 || bits >= 6 || bytes.length % 2 !== 0 || bytes.length === 0) return null;
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) {
    const unit = ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
    out += String.fromCharCode(unit);
  }
  // Printable ASCII must be written directly; surrogates must pair up.
  for (let i = 0; i < out.length; i++) {
    const u = out.charCodeAt(i);
    if (isDirect(u)) return null;
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = out.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return null;
      i++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return null;
    }
  }
  return out;
}
