// MIME header parameters (RFC 2045 §5.1), with RFC 2231 continuations and
// charset-encoded values (`filename*0*=utf-8''a%20b`, `filename*1="c.exe"`)
// and RFC 2047 encoded words, which mail clients put in `name=` though the RFC
// forbids it there. Pure; for attachment names only, so lenient.

function decodePercent(value: string, charset: string): string {
  const bytes = Buffer.from(
    value.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
  return /^utf-?8$/i.test(charset) ? bytes.toString('utf8') : bytes.toString('latin1');
}

/** RFC 2047 `=?charset?B|Q?text?=` words; unknown charsets are read as UTF-8. */
export function decodeWords(value: string): string {
  return value.replace(
    /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g,
    (_, charset: string, enc: string, text: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text
                .replace(/_/g, ' ')
                .replace(/=([0-9A-Fa-f]{2})/g, (__, h: string) => String.fromCharCode(parseInt(h, 16))),
              'latin1',
            );
      return /^(iso-8859-1|latin1|us-ascii)$/i.test(charset)
        ? bytes.toString('latin1')
        : bytes.toString('utf8');
    },
  );
}

/** Parameters of a field value (after the first `;`), names lowercased. */
export function parseParams(value: string): Map<string, string> {
  const raw = new Map<string, { parts: Map<number, { text: string; encoded: boolean }> }>();
  const re = /;\s*([A-Za-z0-9_.-]+)(?:\*(\d+))?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (const m of value.matchAll(re)) {
    const name = (m[1] as string).toLowerCase();
    const index = m[2] === undefined ? 0 : Number(m[2]);
    let text = m[4] as string;
    if (text.startsWith('"')) text = text.slice(1, -1).replace(/\\(.)/g, '$1');
    const entry = raw.get(name) ?? { parts: new Map() };
    entry.parts.set(index, { text, encoded: m[3] === '*' });
    raw.set(name, entry);
  }
  const out = new Map<string, string>();
  for (const [name, { parts }] of raw) {
    const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    let charset = 'utf-8';
    const first = ordered[0];
    if (first?.encoded) {
      const m = /^([^']*)'[^']*'(.*)$/.exec(first.text);
      if (m) {
        charset = m[1] || 'utf-8';
        first.text = m[2] as string;
      }
    }
    const joined = ordered.map((p) => (p.encoded ? decodePercent(p.text, charset) : p.text)).join('');
    out.set(name, decodeWords(joined));
  }
  return out;
}
