// Attachment names: MIME parameters, ZIP directories, and the walk over a
// whole message, without scanners.
import { Readable } from 'node:stream';
import { attachmentMessage, textMessage, zipOneFile } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { attachmentNames, bannedNames } from '../src/attachments/names.js';
import { decodeWords, parseParams } from '../src/attachments/params.js';
import { zipNames } from '../src/attachments/zip-names.js';

const walk = (msg: Buffer, chunk = 7) =>
  attachmentNames(
    Readable.from(
      Array.from({ length: Math.ceil(msg.length / chunk) }, (_, i) =>
        msg.subarray(i * chunk, (i + 1) * chunk),
      ),
    ),
  );

describe('MIME parameters', () => {
  it('reads quoted, bare, RFC 2231 continued and charset-encoded values', () => {
    expect(parseParams('; name="a b.exe"; x=1').get('name')).toBe('a b.exe');
    expect(parseParams('; filename=plain.txt').get('filename')).toBe('plain.txt');
    expect(parseParams(`; filename*=utf-8''r%C3%A9sum%C3%A9.exe`).get('filename')).toBe('résumé.exe');
    expect(parseParams('; filename*0="invoice"; filename*1=".pdf"; filename*2=".exe"').get('filename')).toBe(
      'invoice.pdf.exe',
    );
    expect(decodeWords('=?UTF-8?B?cmVwb3J0LmV4ZQ==?=')).toBe('report.exe');
    expect(decodeWords('=?iso-8859-1?Q?caf=E9_menu.scr?=')).toBe('café menu.scr');
  });

  it('bans by the last extension, case-insensitive, ignoring trailing dots and spaces', () => {
    expect(bannedNames(['a.pdf.EXE', 'b.exe. ', 'c.exe.pdf', 'exe', 'd.Scr'], ['exe', 'scr'])).toEqual([
      'a.pdf.EXE',
      'b.exe. ',
      'd.Scr',
    ]);
    expect(bannedNames(['a.exe'], [])).toEqual([]);
  });
});

describe('attachment names', () => {
  it('lists names of attachments and of files inside ZIP attachments', async () => {
    const zip = zipOneFile('invoice.pdf.exe', Buffer.from('MZ...'));
    expect(zipNames(zip)).toEqual(['invoice.pdf.exe']);
    const msg = attachmentMessage(zip, 'invoice.zip', 'application/zip');
    expect(await walk(msg)).toEqual(['invoice.zip', 'invoice.pdf.exe']);
    // Held in memory, the bytes are walked as they are: the same names.
    expect(await attachmentNames(msg)).toEqual(['invoice.zip', 'invoice.pdf.exe']);
  });

  it('walks nested multiparts and attached messages, and finds nothing in plain text', async () => {
    const inner = attachmentMessage(Buffer.from('x'), 'tool.scr');
    const outer = attachmentMessage(inner, 'fwd.eml', 'message/rfc822');
    // message/rfc822 must not be base64 in real mail; rebuild the part as 7bit.
    const text = outer
      .toString('latin1')
      .replace(
        /Content-Transfer-Encoding: base64\r\n\r\n[A-Za-z0-9+/=\r\n]+?(?=\r\n--)/,
        `Content-Transfer-Encoding: 7bit\r\n\r\n${inner.toString('latin1')}`,
      );
    expect(await walk(Buffer.from(text, 'latin1'))).toEqual(['fwd.eml', 'tool.scr']);
    expect(
      await walk(textMessage('Content-Disposition: attachment; filename="x.exe" in a body line')),
    ).toEqual([]);
  });
});
