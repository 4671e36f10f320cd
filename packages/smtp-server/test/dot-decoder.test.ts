// DATA decoding (RFC 5321 §4.1.1.4, §4.5.2) and SMTP smuggling: only
// <CRLF>.<CRLF> ends a message, whatever the chunking.
import { describe, expect, it } from 'vitest';
import { DotDecoder } from '../src/index.js';

/** Feeds `input` in chunks of `size` octets; returns the message, the rest and the decoder. */
function decode(input: string, size = input.length) {
  const d = new DotDecoder();
  const buf = Buffer.from(input, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) {
    const chunk = buf.subarray(i, i + size);
    const r = d.write(chunk);
    out.push(...r.data);
    if (r.end >= 0) {
      const rest = Buffer.concat([chunk.subarray(r.end), buf.subarray(i + size)]).toString('latin1');
      return { message: Buffer.concat(out).toString('latin1'), rest, d };
    }
  }
  return { message: Buffer.concat(out).toString('latin1'), rest: null, d };
}

const sizes = [1, 2, 3, 7, 1000];

describe('DotDecoder', () => {
  it('ends at CRLF.CRLF and un-stuffs dots, at every chunk size', () => {
    for (const n of sizes) {
      const r = decode('Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n', n);
      expect(r.message).toBe('Subject: x\r\n\r\n.leading dot\r\n');
      expect(r.rest).toBe('QUIT\r\n');
    }
  });

  it('accepts an empty message right after DATA', () => {
    expect(decode('.\r\n')).toMatchObject({ message: '', rest: '' });
  });

  it('keeps a dot that is not at a line start', () => {
    expect(decode('a.b\r\n x.\r\n.\r\n').message).toBe('a.b\r\n x.\r\n');
  });

  for (const [name, fake] of [
    ['LF.LF', '\n.\n'],
    ['CRLF.LF', '\r\n.\n'],
    ['LF.CRLF', '\n.\r\n'],
    ['CR.CR', '\r.\r'],
    ['CRLF.CR', '\r\n.\r'],
    ['CR.CRLF', '\r.\r\n'],
  ] as const) {
    it(`never ends on ${name}, and flags it as a smuggling attempt`, () => {
      for (const n of sizes) {
        const r = decode(`body${fake}MAIL FROM:<evil@example.org>\r\n.\r\n`, n);
        expect(r.rest).toBe('');
        expect(r.message).toContain('MAIL FROM:<evil@example.org>\r\n');
        expect(r.d.suspectDot).toBe(true);
      }
    });
  }

  it('counts bare LF and CR without a dot, but does not flag them', () => {
    const r = decode('a\nb\rc\r\n.\r\n');
    expect(r.message).toBe('a\nb\rc\r\n');
    expect([r.d.bareLf, r.d.bareCr, r.d.suspectDot]).toEqual([1, 1, false]);
  });

  it('passes lines through verbatim, without copying', () => {
    const d = new DotDecoder();
    const chunk = Buffer.from('line one\r\nline two\r\n');
    const r = d.write(chunk);
    expect(r.data).toHaveLength(1);
    expect(r.data[0]?.buffer).toBe(chunk.buffer);
  });
});
