// Test messages for scanner and filter tests: RFC 5322 messages with CRLF line
// ends, an attachment builder, a stored (uncompressed) ZIP builder, and
// synthetic spam/ham corpora with distinct vocabularies so a few dozen TELLs
// are enough to train SpamAssassin's Bayes.
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

export interface SampleOptions {
  from?: string;
  to?: string;
  subject?: string;
  extraHeaders?: string[];
}

function headerBlock(o: SampleOptions, more: string[] = []): string {
  return [
    'Received: from client.example.org (client.example.org [192.0.2.10]) by mx.example.test; Sat, 28 Nov 2026 07:00:00 +0000',
    `From: ${o.from ?? 'Sender <sender@example.org>'}`,
    `To: ${o.to ?? 'alice@example.test'}`,
    `Subject: ${o.subject ?? 'Test message'}`,
    'Date: Sat, 28 Nov 2026 07:00:00 +0000',
    `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
    'MIME-Version: 1.0',
    ...(o.extraHeaders ?? []),
    ...more,
  ].join('\r\n');
}

/** A text/plain message. */
export function textMessage(body: string, o: SampleOptions = {}): Buffer {
  const text = body.replace(/\r?\n/g, '\r\n');
  return Buffer.from(
    `${headerBlock(o, ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'])}\r\n\r\n${text}\r\n`,
  );
}

/** A multipart/mixed message with a text part and one base64 attachment. */
export function attachmentMessage(
  attachment: Buffer,
  filename: string,
  contentType = 'application/octet-stream',
  o: SampleOptions = {},
): Buffer {
  const boundary = `=_${randomBytes(6).toString('hex')}`;
  const b64 = (attachment.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from(
    [
      headerBlock(o, [`Content-Type: multipart/mixed; boundary="${boundary}"`]),
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Please find the file attached.',
      `--${boundary}`,
      `Content-Type: ${contentType}; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A one-file ZIP archive (APPNOTE.TXT §4.3), deflated or stored. */
export function zipOneFile(name: string, data: Buffer, method: 'store' | 'deflate' = 'deflate'): Buffer {
  const packed = method === 'deflate' ? deflateRawSync(data) : data;
  const fname = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(method === 'deflate' ? 8 : 0, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(method === 'deflate' ? 8 : 0, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fname.length, 28);
  const centralOffset = local.length + fname.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fname.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fname, packed, central, fname, end]);
}

const SPAM_WORDS =
  'viagra cialis casino jackpot winner lottery prize bitcoin investment guaranteed free offer unsecured loan debt credit pills pharmacy discount cheap replica watches rolex weight loss diet miracle cash bonus claim urgent wire transfer inheritance million dollars beneficiary'.split(
    ' ',
  );
const HAM_WORDS =
  'meeting agenda project schedule review report quarterly budget team lunch tomorrow thanks regards attached document draft proposal deadline milestone sprint retrospective kernel compile patch repository branch merge commit release notes minutes conference room calendar'.split(
    ' ',
  );

function words(vocab: string[], n: number, seed: number): string {
  const out: string[] = [];
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(vocab[x % vocab.length] as string);
  }
  return out.join(' ');
}

/** Synthetic spam number `i` of a corpus; distinct text and Message-ID each time. */
export function spamSample(i: number, o: SampleOptions = {}): Buffer {
  const lines = Array.from({ length: 8 }, (_, k) => words(SPAM_WORDS, 12, i * 31 + k));
  return textMessage(lines.join('\n'), { subject: words(SPAM_WORDS, 4, i + 7), ...o });
}

/** Synthetic ham number `i` of a corpus. */
export function hamSample(i: number, o: SampleOptions = {}): Buffer {
  const lines = Array.from({ length: 8 }, (_, k) => words(HAM_WORDS, 12, i * 37 + k));
  return textMessage(lines.join('\n'), { subject: words(HAM_WORDS, 4, i + 11), ...o });
}
