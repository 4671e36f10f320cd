// The wire form of messages: CRLF conversion, byte-stuffing, TOP, and that the
// octet count equals the un-stuffed bytes sent — across every chunk boundary.
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { readInline } from '@postamt/maildir';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { encodeMessage, measureBuffer, sendMessage, WireEncoder, wireSize } from '../src/retr.js';
import { unstuff } from './client.js';

function encodeSplit(input: Buffer, at: number[], bodyLines?: number): Buffer {
  const enc = new WireEncoder(bodyLines);
  const out: Buffer[] = [];
  let prev = 0;
  for (const cut of [...at, input.length]) {
    out.push(enc.push(input.subarray(prev, cut)));
    prev = cut;
  }
  out.push(enc.end());
  return Buffer.concat(out);
}

const tricky = Buffer.from(
  'From: a@example.test\nSubject: dots\r\n\n.leading dot\n..two dots\r\n.\n.\r\nmid.dle\nbare\rcr\nlast line',
  'latin1',
);
const expectedWire =
  'From: a@example.test\r\nSubject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n..\r\nmid.dle\r\nbare\rcr\r\nlast line\r\n';

describe('WireEncoder', () => {
  it('converts bare LF, stuffs dots, closes the last line', () => {
    expect(encodeSplit(tricky, []).toString('latin1')).toBe(expectedWire);
  });

  it('gives the same bytes whatever the chunk boundaries', () => {
    for (let i = 0; i <= tricky.length; i++) {
      expect(encodeSplit(tricky, [i]).toString('latin1')).toBe(expectedWire);
    }
    const everyByte = Array.from({ length: tricky.length }, (_, i) => i);
    expect(encodeSplit(tricky, everyByte).toString('latin1')).toBe(expectedWire);
  });

  it('TOP sends headers, the blank line and n body lines', () => {
    const msg = Buffer.from('A: 1\nB: 2\n\nline1\n.line2\nline3\n');
    expect(encodeSplit(msg, [], 0).toString()).toBe('A: 1\r\nB: 2\r\n\r\n');
    expect(encodeSplit(msg, [], 2).toString()).toBe('A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n');
    expect(encodeSplit(msg, [], 99).toString()).toBe('A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\nline3\r\n');
    for (let i = 0; i <= msg.length; i++)
      expect(encodeSplit(msg, [i], 1).toString()).toBe('A: 1\r\nB: 2\r\n\r\nline1\r\n');
  });

  it('handles empty and CR-terminated input', () => {
    expect(encodeSplit(Buffer.alloc(0), []).length).toBe(0);
    expect(encodeSplit(Buffer.from('x\r'), []).toString()).toBe('x\r\n');
  });
});

describe('wireSize and sendMessage', () => {
  const dir = makeTempDir('pop3-retr');
  const cases: Record<string, Buffer> = {
    tricky,
    empty: Buffer.alloc(0),
    crlf: Buffer.from('a\r\nb\r\n'),
    endsInCr: Buffer.from('a\nb\r'),
    big: Buffer.from(`${'.x\n'.repeat(100_000)}tail`),
  };
  for (const [name, content] of Object.entries(cases)) {
    it(`octet count equals un-stuffed bytes sent (${name})`, async () => {
      const path = join(dir, name);
      writeFileSync(path, content);
      const sent: Buffer[] = [];
      const fh = await open(path, 'r');
      await sendMessage(fh, async (d) => void sent.push(Buffer.from(d)));
      await fh.close();
      const all = Buffer.concat(sent);
      expect(all.subarray(all.length - 3).toString()).toBe('.\r\n');
      const body = all.subarray(0, all.length - 3);
      expect(unstuff(body).length).toBe(await wireSize(path));
      if (content.length > 0) expect(body.subarray(body.length - 2).toString()).toBe('\r\n');
      // The small-message path (read whole, encoded at once) sends the same bytes.
      expect(encodeMessage(readInline(path, 16 * 2 ** 20) as Buffer)).toEqual(all);
      expect(measureBuffer(content)).toEqual({ raw: content.length, wire: await wireSize(path) });
      if (content.length > 0) expect(readInline(path, content.length - 1)).toBeNull();
    });
  }
});
