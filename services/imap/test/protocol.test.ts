// Pure protocol tests: parser primitives, sequence sets, FETCH and SEARCH
// arguments, modified UTF-7, framing and serialization, with torture inputs.
import { describe, expect, it } from 'vitest';
import { formatSection, parseFetchItems } from '../src/protocol/fetch-args.js';
import { formatDateTime, parseDateTime, parseFlagList } from '../src/protocol/flags.js';
import { literalAtEnd, tagOf } from '../src/protocol/framing.js';
import { mailboxFromWire } from '../src/protocol/mailbox-name.js';
import { decodeMailboxName, encodeMailboxName } from '../src/protocol/mutf7.js';
import { ParseError, Reader } from '../src/protocol/reader.js';
import { BadCharsetError, parseSearch } from '../src/protocol/search-args.js';
import { formatSet, parseSeqSet, resolveRanges, STAR } from '../src/protocol/sequence.js';
import { encode, encodeString, raw } from '../src/protocol/serialize.js';

const R = (s: string | Buffer) => new Reader(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));

describe('reader', () => {
  it('reads atoms, quoted strings with escapes, literals and NIL', () => {
    const r = R('abc "a\\"b\\\\c" {3}\r\nxyz NIL {2+}\r\nhi\r\n');
    expect(r.astring().toString()).toBe('abc');
    r.sp();
    expect(r.astring().toString()).toBe('a"b\\c');
    r.sp();
    expect(r.astring().toString()).toBe('xyz');
    r.sp();
    expect(r.nstring()).toBeNull();
    r.sp();
    expect(r.string().toString()).toBe('hi');
    r.end();
  });
  it('refuses bad escapes, unterminated quotes, short literals', () => {
    expect(() => R('"a\\n"').quoted()).toThrow(ParseError);
    expect(() => R('"abc\r\n').quoted()).toThrow(ParseError);
    expect(() => R('{10}\r\nabc').literal()).toThrow(ParseError);
    expect(() => R('{99999999999}\r\n').literal()).toThrow(ParseError);
  });
  it('literals may hold CRLF, NUL and parentheses', () => {
    const body = Buffer.from('a)\r\n\0(b');
    const r = R(Buffer.concat([Buffer.from(`{${body.length}}\r\n`), body, Buffer.from('\r\n')]));
    expect(r.string().equals(body)).toBe(true);
    r.end();
  });
  it('refuses deep nesting and unbalanced lists', () => {
    const deep = `${'('.repeat(40)}${')'.repeat(40)}`;
    expect(() =>
      R(deep).list(function item(this: void): unknown {
        return 0;
      }),
    ).toThrow(ParseError);
    expect(() => parseFlagList(R('(\\Seen'))).toThrow(ParseError);
    expect(() => parseFlagList(R('(\\Seen))'))).not.toThrow();
  });
  it('normalises system flags and refuses unknown ones', () => {
    expect(parseFlagList(R('(\\seen \\DELETED $Junk)'))).toEqual(['\\Seen', '\\Deleted', '$Junk']);
    expect(() => parseFlagList(R('(\\Bogus)'))).toThrow(ParseError);
  });
});

describe('sequence sets', () => {
  it('parses ranges and stars', () => {
    expect(parseSeqSet(R('1,3:5,*,7:*'))).toEqual([
      [1, 1],
      [3, 5],
      [STAR, STAR],
      [7, STAR],
    ]);
    expect(resolveRanges(parseSeqSet(R('9:2,*')), 4)).toEqual([
      [2, 9],
      [4, 4],
    ]);
  });
  it('refuses zero, empty and junk', () => {
    for (const bad of ['0', '', ',1', '1:', 'a', '-1']) expect(() => parseSeqSet(R(bad))).toThrow(ParseError);
    expect(() => parseSeqSet(R('4294967296'))).toThrow(ParseError);
  });
  it('formats compact sets', () => {
    expect(formatSet([5, 1, 2, 3, 9, 10])).toBe('1:3,5,9:10');
  });
});

describe('fetch items', () => {
  it('expands macros', () => {
    expect(parseFetchItems(R('FAST')).map((a) => a.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
    expect(parseFetchItems(R('full')).map((a) => a.kind)).toContain('BODY');
  });
  it('parses sections, partials and peek', () => {
    const items = parseFetchItems(
      R('(UID BODY.PEEK[HEADER.FIELDS (From "Subject")]<0.100> BODY[1.2.MIME] BODY[] BODY BODYSTRUCTURE)'),
    );
    expect(items[0]).toEqual({ kind: 'UID' });
    const s = items[1];
    if (s?.kind !== 'SECTION') throw new Error('expected a section');
    expect(s.peek).toBe(true);
    expect(s.partial).toEqual({ start: 0, length: 100 });
    expect(formatSection(s.section)).toBe('HEADER.FIELDS (FROM SUBJECT)');
    const m = items[2];
    if (m?.kind !== 'SECTION') throw new Error('expected a section');
    expect(formatSection(m.section)).toBe('1.2.MIME');
    expect(items.slice(3).map((a) => a.kind)).toEqual(['SECTION', 'BODY', 'BODYSTRUCTURE']);
  });
  it('refuses bad items', () => {
    for (const bad of [
      '(FLAGS',
      'BODY[MIME]',
      'BODY[0]',
      'BODY[1.]',
      'BODY[HEADER.FIELDS ()]',
      'FOO',
      '()',
      'BODY[]<1>',
    ])
      expect(() => parseFetchItems(R(bad)), bad).toThrow(ParseError);
  });
});

describe('search', () => {
  it('parses every kind of key with nesting', () => {
    const p = parseSearch(
      R(
        ' CHARSET UTF-8 OR (FROM "a b" SEEN) NOT (UID 1:* LARGER 10) SINCE 1-Feb-2024 HEADER X-Foo {3}\r\nbar 2,4:*',
      ),
    );
    expect(p.charset).toBe('UTF-8');
    expect(p.key.op).toBe('and');
    if (p.key.op !== 'and') return;
    expect(p.key.keys.map((k) => k.op)).toEqual(['or', 'date', 'header', 'seq']);
  });
  it('refuses unknown charsets, keys and runaway nesting', () => {
    expect(() => parseSearch(R(' CHARSET X-UNKNOWN-CHARSET ALL'))).toThrow(BadCharsetError);
    expect(() => parseSearch(R(' FOO'))).toThrow(ParseError);
    expect(() => parseSearch(R(` ${'NOT '.repeat(100)}ALL`))).toThrow(ParseError);
    expect(() => parseSearch(R(' SINCE 31-Foo-2020'))).toThrow(ParseError);
    expect(() => parseSearch(R(' OR SEEN'))).toThrow(ParseError);
  });
  it('decodes search strings in the given charset, 8-bit without CHARSET as UTF-8', () => {
    const latin = parseSearch(
      new Reader(Buffer.from(' CHARSET ISO-8859-1 SUBJECT {4}\r\ncaf\xe9', 'latin1')),
    );
    expect(latin.key).toMatchObject({ op: 'header', key: 'SUBJECT', value: 'café' });
    const raw = parseSearch(new Reader(Buffer.from(' BODY "\xc3\xbcber"', 'latin1')));
    expect(raw.key).toMatchObject({ op: 'body', value: 'über' });
  });
  it('parses ESEARCH RETURN options', () => {
    expect(parseSearch(R(' RETURN (MIN COUNT) ALL')).returnOpts).toEqual(['MIN', 'COUNT']);
    expect(parseSearch(R(' RETURN () ALL')).returnOpts).toEqual(['ALL']);
  });
});

describe('modified UTF-7', () => {
  it('round-trips RFC 3501 §5.1.3 examples', () => {
    expect(encodeMailboxName('~peter/mail/台北/日本語')).toBe('~peter/mail/&U,BTFw-/&ZeVnLIqe-');
    expect(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-')).toBe('~peter/mail/台北/日本語');
    expect(encodeMailboxName('A&B')).toBe('A&-B');
    expect(decodeMailboxName('A&-B')).toBe('A&B');
    for (const s of ['Entwürfe', '😀 mail', 'Ä&Ö']) expect(decodeMailboxName(encodeMailboxName(s))).toBe(s);
  });
  it('refuses non-canonical and invalid spellings', () => {
    for (const bad of ['&Jjo', '&Jjo!', '&AGEAYg-', '&ZeVnLIqe-&U,BTFw-', '&2D0-', 'a\u00e9', '&U,BTFx-'])
      expect(decodeMailboxName(bad), bad).toBeNull();
  });
  it('canonicalises mailbox names', () => {
    expect(mailboxFromWire(Buffer.from('inbox'))).toEqual({ ok: true, name: 'INBOX' });
    expect(mailboxFromWire(Buffer.from('Entw&APw-rfe'))).toEqual({ ok: true, name: 'Entwürfe' });
    for (const bad of ['a..b', '.a', 'a.', 'a/b', 'x\u0001', '&Jjo'])
      expect(mailboxFromWire(Buffer.from(bad)).ok).toBe(false);
  });
});

describe('framing and serialization', () => {
  it('finds literal announcements', () => {
    expect(literalAtEnd(Buffer.from('a APPEND x {12}\r\n'))).toEqual({ size: 12, nonSync: false });
    expect(literalAtEnd(Buffer.from('a APPEND x {12+}\r\n'))).toEqual({ size: 12, nonSync: true });
    expect(literalAtEnd(Buffer.from('a NOOP\r\n'))).toBeNull();
    expect(literalAtEnd(Buffer.from('a X {1+2}\r\n'))).toBe('invalid');
    expect(tagOf(Buffer.from('a1 NOOP\r\n'))).toBe('a1');
    expect(tagOf(Buffer.from('+ NOOP\r\n'))).toBe('*');
  });
  it('encodes strings, NIL and lists', () => {
    expect(encode(['a"b', null, 12, raw('\\Seen')]).toString()).toBe('("a\\"b" NIL 12 \\Seen)');
    expect(encodeString('ü').toString('latin1')).toBe('{2}\r\n\u00c3\u00bc');
    expect(encodeString('a\r\nb').toString()).toBe('{4}\r\na\r\nb');
  });
  it('formats and parses dates', () => {
    const d = parseDateTime(R('" 1-Feb-2024 10:00:00 +0200"'));
    expect(formatDateTime(d)).toBe('01-Feb-2024 08:00:00 +0000');
  });
});
