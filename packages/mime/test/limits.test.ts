// Hostile input: nesting, part count and header size are capped, and the
// indexer neither throws nor recurses without bound.

import { describe, expect, it } from 'vitest';
import { fetchSection, indexMessage, parseSection } from '../src/index.js';

describe('limits', () => {
  it('caps MIME nesting depth', () => {
    let msg = 'Content-Type: text/plain\r\n\r\ninner\r\n';
    for (let i = 0; i < 300; i++)
      msg = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${msg}--b${i}--\r\n`;
    const index = indexMessage(Buffer.from(msg));
    expect(index.limited).toBe(true);
    expect(index.bodystructure.length).toBeGreaterThan(0);
  });

  it('caps message/rfc822 nesting depth', () => {
    let msg = 'Subject: x\r\n\r\nbody\r\n';
    for (let i = 0; i < 1000; i++) msg = `Content-Type: message/rfc822\r\n\r\n${msg}`;
    const index = indexMessage(Buffer.from(msg));
    expect(index.limited).toBe(true);
  });

  it('caps the number of parts', () => {
    const parts = Array.from(
      { length: 500 },
      (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`,
    ).join('');
    const msg = `Content-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`;
    const index = indexMessage(Buffer.from(msg), { maxParts: 100 });
    expect(index.limited).toBe(true);
    expect(index.root.children.length).toBeLessThan(100);
  });

  it('caps stored header values but keeps byte offsets exact', () => {
    const subject = 'x'.repeat(1_000_000);
    const buf = Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`);
    const index = indexMessage(buf, { maxHeaderValue: 1000 });
    expect(index.envelope.length).toBeLessThan(2000);
    expect(fetchSection(buf, index, parseSection('TEXT')).toString()).toBe('body\r\n');
    expect(index.size).toBe(buf.length);
  });
});
