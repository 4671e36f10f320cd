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

describe('header size', () => {
  it('keeps at most maxHeaderBytes of envelope fields per part, offsets stay exact', () => {
    const to = Array.from({ length: 2000 }, (_, i) => `To: user${i}@example.org\r\n`).join('');
    const buf = Buffer.from(`From: a@example.org\r\n${to}Subject: s\r\n\r\nbody\r\n`);
    const full = indexMessage(buf);
    expect(full.limited).toBe(false);
    expect(full.envelope).toContain('"user1999"');
    const capped = indexMessage(buf, { maxHeaderBytes: 1000 });
    expect(capped.limited).toBe(true);
    expect(capped.envelope).not.toContain('"user1999"');
    expect(capped.envelope.length).toBeLessThan(full.envelope.length / 10);
    expect(capped.size).toBe(full.size);
    expect(fetchSection(buf, capped, parseSection('TEXT')).toString()).toBe('body\r\n');
  });

  it('keeps only the fields ENVELOPE and BODYSTRUCTURE read', () => {
    const junk = Array.from({ length: 5000 }, (_, i) => `X-Junk-${i}: ${'j'.repeat(300)}\r\n`).join('');
    const buf = Buffer.from(`${junk}Subject: kept\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n`);
    const index = indexMessage(buf, { maxHeaderBytes: 1000 });
    expect(index.limited).toBe(false);
    expect(index.envelope).toContain('"kept"');
    expect(index.bodystructure).toMatch(/^"text" "html"/);
  });
});
