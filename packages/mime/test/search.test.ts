// SEARCH keys that depend on the message alone (SUBJECT, FROM, TO, CC, BCC,
// HEADER, BODY, TEXT) checked against dovecot-search.jsonl. Keys that need
// mailbox state (flags, INTERNALDATE, sizes, UID sets, OR/NOT combinations,
// SENT* dates) belong to the server's SEARCH and are listed as not applicable.

import { describe, expect, it } from 'vitest';
import { type SearchKey, searchMatches, textParts } from '../src/index.js';
import { indexFile, loadJsonl } from './golden.js';

const SIMPLE =
  /^UID SEARCH (?:CHARSET (\S+) )?(SUBJECT|FROM|TO|CC|BCC|BODY|TEXT|HEADER (\S+)) ("(?:[^"\\]|\\.)*"|\{\d+\}\r\n[\s\S]*|[^\s"]+)$/;

function searchString(token: string, charset: string | undefined): string | null {
  let bytes: string;
  if (token.startsWith('"')) bytes = token.slice(1, -1).replace(/\\(.)/g, '$1');
  else if (token.startsWith('{')) bytes = token.slice(token.indexOf('\n') + 1);
  else bytes = token;
  const cs = (charset ?? 'UTF-8').toUpperCase();
  const buf = Buffer.from(bytes, 'latin1');
  if (cs === 'UTF-8' || cs === 'US-ASCII') return buf.toString('utf8');
  if (cs === 'ISO-8859-1') return buf.toString('latin1');
  return null; // unknown charset: the server answers NO [BADCHARSET]
}

describe('SEARCH on message content', () => {
  const msgs = loadJsonl('dovecot-golden.jsonl')
    .filter((l) => l.label === 'envelope-bodystructure')
    .map((l) => ({ uid: l.uid as number, ...indexFile(l.file as string) }));
  const cases = loadJsonl('dovecot-search.jsonl');

  it('agrees with Dovecot on every message-only search key', () => {
    let evaluated = 0;
    let notApplicable = 0;
    const failures: string[] = [];
    for (const c of cases) {
      const m = SIMPLE.exec(c.command);
      const value = m ? searchString(m[4] as string, m[1]) : null;
      if (!m || value === null) {
        notApplicable++;
        continue;
      }
      evaluated++;
      const key = (m[2] as string).split(' ')[0] as SearchKey;
      const want = (/^\* SEARCH ?(.*)\r\n/.exec(c.response)?.[1] ?? '')
        .split(' ')
        .filter(Boolean)
        .map(Number);
      const field = m[3]?.replace(/^"(.*)"$/, '$1');
      const got = msgs.filter((x) => searchMatches(x.buf, x.index, key, value, field)).map((x) => x.uid);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${c.command.replace(/\r\n/g, ' ')}: want ${want.join(',')} got ${got.join(',')}`);
      }
    }
    console.log(
      `SEARCH match rate: ${evaluated - failures.length}/${evaluated} message-only searches; ` +
        `${notApplicable} need mailbox state (flags, dates, sizes, sets) or a bad charset`,
    );
    for (const f of failures) console.log(`  MISMATCH ${f.slice(0, 300)}`);
    expect(failures).toEqual([]);
  });

  it('reads bodies as stored to the same text as in CRLF form, CRs aside', () => {
    // textParts(…, true) skips the CRLF copy for search strings without CR or LF.
    const crlf = (t: string) => t.replace(/\r\n/g, '\n');
    let parts = 0;
    let differ = 0;
    for (const x of msgs) {
      const wire = textParts(x.buf, x.index);
      const stored = textParts(x.buf, x.index, true);
      expect(stored.map(crlf)).toEqual(wire.map(crlf));
      parts += wire.length;
      differ += wire.filter((w, i) => w !== stored[i]).length;
    }
    expect(parts).toBeGreaterThan(100);
    // The corpus has LF line ends: most bodies did differ before the CRs were set aside.
    expect(differ).toBeGreaterThan(0);
  });
});
