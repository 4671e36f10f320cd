// Pure tests of the wire syntax: command lines, numbers, SASL PLAIN, replies, UIDs.
import { describe, expect, it } from 'vitest';
import { decodeSaslPlain, parseCommandLine, parseMessageNumber, parseNumber } from '../src/protocol/parse.js';
import { formatLines, formatReply, R } from '../src/responses.js';
import { uidFor } from '../src/uid.js';

const line = (s: string) => parseCommandLine(Buffer.from(s, 'latin1'));

describe('parseCommandLine', () => {
  it.each([
    ['STAT\r\n', 'STAT', [], ''],
    ['stat\n', 'STAT', [], ''],
    ['LiSt 3\r\n', 'LIST', ['3'], '3'],
    ['TOP 1 10\r\n', 'TOP', ['1', '10'], '1 10'],
    ['TOP  1   10\r\n', 'TOP', ['1', '10'], ' 1   10'],
    ['PASS my secret pw \r\n', 'PASS', ['my', 'secret', 'pw'], 'my secret pw '],
    ['USER alice@example.test', 'USER', ['alice@example.test'], 'alice@example.test'],
  ])('%j', (input, verb, args, rest) => {
    expect(line(input)).toEqual({ ok: true, verb, args, rest });
  });

  it.each([
    ['\r\n', 'empty'],
    ['   \r\n', 'empty'],
    [' STAT\r\n', 'bad-verb'],
    ['ST4T\r\n', 'bad-verb'],
    ['VERYLONGVERB\r\n', 'bad-verb'],
    ['STAT\u0000\r\n', 'bad-bytes'],
    ['US\rER x\r\n', 'bad-bytes'],
    ['PASS a\u007fb\r\n', 'bad-bytes'],
  ])('refuses %j', (input, reason) => {
    expect(line(input)).toEqual({ ok: false, reason });
  });
});

describe('numbers', () => {
  it('accepts plain decimals only', () => {
    expect(parseMessageNumber('1')).toBe(1);
    expect(parseMessageNumber('0042')).toBe(42);
    expect(parseMessageNumber('0')).toBeNull();
    expect(parseMessageNumber('-1')).toBeNull();
    expect(parseMessageNumber('+1')).toBeNull();
    expect(parseMessageNumber('1e3')).toBeNull();
    expect(parseMessageNumber('0x10')).toBeNull();
    expect(parseMessageNumber('99999999999')).toBeNull();
    expect(parseMessageNumber(undefined)).toBeNull();
    expect(parseNumber('0', 0)).toBe(0);
  });
});

describe('decodeSaslPlain', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('decodes authzid, authcid and password', () => {
    expect(decodeSaslPlain(b64('\u0000alice@example.test\u0000secret'))).toEqual({
      ok: true,
      authzid: '',
      authcid: 'alice@example.test',
      password: 'secret',
    });
    expect(decodeSaslPlain(b64('a\u0000b\u0000c'))).toMatchObject({ ok: true, authzid: 'a', authcid: 'b' });
  });
  it.each([
    '=',
    '',
    '!!!!',
    'abc',
    b64('alice\u0000secret'),
    b64('\u0000\u0000secret'),
    b64('\u0000a\u0000'),
  ])('refuses %j', (input) => {
    expect(decodeSaslPlain(input)).toEqual({ ok: false });
  });
});

describe('replies', () => {
  it('formats status lines with response codes', () => {
    expect(formatReply(R.inUse)).toBe('-ERR [IN-USE] Mailbox is locked by another session\r\n');
    expect(formatReply(R.unknownCommand)).toBe('-ERR Unknown command\r\n');
    expect(formatReply({ ok: true, text: 'a\r\nb' })).toBe('+OK a b\r\n');
    expect(formatReply({ ok: true, text: 'x'.repeat(1000) }).length).toBeLessThanOrEqual(512);
  });
  it('dot-stuffs multi-line bodies', () => {
    expect(formatLines(['a', '.b'])).toBe('a\r\n..b\r\n.\r\n');
    expect(formatLines([])).toBe('.\r\n');
  });
});

describe('uidFor', () => {
  it('keeps short printable base names', () => {
    expect(uidFor('1700000001.m1.host,S=12')).toBe('1700000001.m1.host,S=12');
  });
  it('hashes long or non-printable names to a stable printable id', () => {
    for (const base of ['x'.repeat(71), 'a b', 'ä', 'tab\there']) {
      const uid = uidFor(base);
      expect(uid).toMatch(/^~[A-Za-z0-9_-]{40}$/);
      expect(uidFor(base)).toBe(uid);
    }
    expect(uidFor('x'.repeat(70))).toBe('x'.repeat(70));
    expect(uidFor('x'.repeat(71))).not.toBe(uidFor('x'.repeat(72)));
  });
});
