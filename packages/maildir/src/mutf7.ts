// Modified UTF-7 (RFC 3501 §5.1.3), the form IMAP clients without UTF8=ACCEPT
// use for mailbox names, and the form Maildir++ (Courier, Dovecot) stores
// folder names in on disk. Decoding is strict: a name is accepted only if
// re-encoding gives back exactly the same bytes, which rules out unterminated
// shifts, bad base64, lone surrogates, encoded printable ASCII and adjacent
// encoded runs — the "non-UTF-8 modified UTF-7" names the issue refuses.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** String.prototype.isWellFormed (ES2024), which our ES2023 lib target does not declare. */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

const isDirect = (code: number) => code >= 0x20 && code <= 0x7e;

export function encodeMutf7(name: string): string {
  let out = '';
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const bytes = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) bytes.writeUInt16BE(run[i] as number, i * 2);
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    run = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      flush();
      out += code === 0x26 ? '&-' : name[i];
    } else {
      run.push(code);
    }
  }
  flush();
  return out;
}

/** The UTF-8 (JS string) form of a modified UTF-7 name, or null if it is not canonical modified UTF-7. */
export function decodeMutf7(wire: string): string | null {
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const code = wire.charCodeAt(i);
    if (!isDirect(code)) return null;
    if (code !== 0x26) {
      out += wire[i];
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) return null;
    const b64 = wire.slice(i + 1, end);
    i = end + 1;
    if (b64 === '') {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64) || b64.length % 8 === 1 || b64.length % 8 === 4 || b64.length % 8 === 7)
      return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0) return null;
    for (let j = 0; j < bytes.length; j += 2) out += String.fromCharCode(bytes.readUInt16BE(j));
  }
  if (!isWellFormed(out) || encodeMutf7(out) !== wire) return null;
  return out;
}
