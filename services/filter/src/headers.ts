// The header block of a message, and the filter's own header fields.
//
// Messages are never rewritten in place: the filter writes a new header block
// (its fields first, then the original fields minus those it must not trust)
// and then the original bytes from the body on, unchanged.
//
// RFC 5322 §2.2: a field is "name:" at the start of a line; a line starting
// with WSP continues the previous field (§2.2.3 folding). The header ends at the
// first empty line (§2.1).

/** Fields that only this filter may set; copies from outside are removed. */
const UNTRUSTED = /^x-(spam|virus)-[a-z0-9-]*$/i;

/** Length of the header section including the empty line, or -1 if none within `head`. */
export function headerLength(head: Buffer): number {
  if (head.subarray(0, 2).toString('latin1') === '\r\n') return 2;
  if (head[0] === 0x0a) return 1;
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return -1;
  if (crlf >= 0 && (lf < 0 || crlf + 1 < lf)) return crlf + 4;
  return lf + 2;
}

function claimsOurId(line: Buffer, colon: number, authservId: string): boolean {
  const value = line
    .subarray(colon + 1)
    .toString('latin1')
    .trimStart()
    .toLowerCase();
  const id = authservId.toLowerCase();
  return value.startsWith(id) && /^[\s;]/.test(value.slice(id.length));
}

/**
 * Removes untrusted fields (with their continuation lines): X-Spam-… and X-Virus-…,
 * and Authentication-Results that claim our authserv-id (RFC 8601 §5: a
 * border MTA must remove such fields that arrive from outside).
 * Everything else stays byte for byte.
 */
export function stripUntrusted(header: Buffer, authservId?: string): { header: Buffer; removed: string[] } {
  const out: Buffer[] = [];
  const removed: string[] = [];
  let dropping = false;
  let pos = 0;
  while (pos < header.length) {
    const nl = header.indexOf(0x0a, pos);
    const end = nl < 0 ? header.length : nl + 1;
    const line = header.subarray(pos, end);
    pos = end;
    const first = line[0];
    const continuation = first === 0x20 || first === 0x09;
    if (!continuation) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.subarray(0, colon).toString('latin1').trim() : '';
      dropping =
        UNTRUSTED.test(name) ||
        (authservId !== undefined &&
          /^authentication-results$/i.test(name) &&
          claimsOurId(line, colon, authservId));
      if (dropping) removed.push(name);
    }
    if (!dropping) out.push(line);
  }
  return { header: Buffer.concat(out), removed };
}

/**
 * One field, folded after a comma or space so lines stay under 78 characters
 * where possible (RFC 5322 §2.1.1). Values are built by us; CR/LF are removed.
 */
export function field(name: string, value: string): string {
  const tokens = value.replace(/[\r\n]+/g, ' ').split(/(?<=[, ])/);
  const lines: string[] = [];
  let line = `${name}:`;
  let first = true;
  for (const token of tokens) {
    const piece = first ? ` ${token}` : token;
    first = false;
    if (line.length + piece.length > 78 && line.trim().length > name.length + 1) {
      lines.push(line.trimEnd());
      line = `\t${token}`;
    } else line += piece;
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Puts `tag` in front of the Subject (amavisd's sa_spam_subject_tag); adds a
 * Subject when there is none. Only that field changes.
 */
export function tagSubject(header: Buffer, tag: string): Buffer {
  const text = header.toString('latin1');
  const m = /^Subject:[ \t]?/im.exec(text);
  const tagBytes = Buffer.from(tag.replace(/[\r\n]+/g, ' '), 'utf8');
  if (!m) return Buffer.concat([Buffer.from('Subject: '), tagBytes, Buffer.from('\r\n'), header]);
  // latin1 maps bytes 1:1 to string indexes, so the match index is a byte offset.
  const at = m.index + m[0].length;
  return Buffer.concat([header.subarray(0, at), tagBytes, header.subarray(at)]);
}
