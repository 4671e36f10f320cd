// msg-id lists for THREAD=REFERENCES (RFC 5256 §2.2, RFC 5322 §3.6.4):
// Message-ID, In-Reply-To and References values yield their valid msg-ids in
// order, each as "id-left@id-right" without the brackets, compared as exact
// strings. Invalid ones are skipped (RFC 5256 says to use "the first valid
// message ID"). Leniency follows Dovecot: white space inside the brackets is
// dropped, anything with an "@" counts, and only ids with a quoted or
// commented part go through the full RFC 5322 grammar.
import { Scanner } from './rfc822-scan.js';

/** The full-grammar path for ids with a quoted local part or comments. */
function tokenised(p: Scanner): string | null {
  const out = { s: '' };
  if (p.skipCfws() < 0) return null;
  const ret = p.cur() === 0x22 ? p.quoted(out) : p.dotAtom(out);
  if (ret <= 0 || p.cur() !== 0x40) return null;
  out.s += '@';
  p.pos++;
  p.skipCfws();
  if (p.dotAtom(out) <= 0 || p.cur() !== 0x3e) return null;
  p.pos++;
  return out.s;
}

/** All valid msg-ids of a header value, in order. */
export function messageIds(value: string | null): string[] {
  const out: string[] = [];
  if (value === null) return out;
  let pos = 0;
  const s = value;
  for (;;) {
    const lt = s.indexOf('<', pos);
    if (lt < 0) return out;
    pos = lt + 1;
    // Quick scan: most ids have nothing but atext, "@" and ".".
    let p = pos;
    let at = false;
    let stop = -1;
    for (; p < s.length; p++) {
      const c = s.charCodeAt(p);
      if (c >= 0x41) continue;
      if (c === 0x40) at = true;
      if (c === 0x3e || c === 0x22 || c === 0x28) {
        stop = c;
        break;
      }
      if (c === 0) break;
    }
    if (stop === -1) return out;
    if (stop === 0x3e) {
      const id = s.slice(pos, p).replace(/[ \t\r\n]/g, '');
      pos = p + 1;
      if (at) out.push(id);
      continue;
    }
    const sc = new Scanner(s, pos);
    const id = tokenised(sc);
    if (id !== null) {
      out.push(id);
      pos = sc.pos;
    }
  }
}
