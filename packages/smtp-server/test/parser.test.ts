// The pure wire syntax: command parser, parameters, paths, line scanning,
// with torture inputs (RFC 5321 §4.1, RFC 3461, RFC 1870, RFC 6531).
import { describe, expect, it } from 'vitest';
import {
  decodeXtext,
  parseCommand,
  parseMailParams,
  parsePath,
  parseRcptParams,
  scanLine,
} from '../src/index.js';

const cmd = (line: string) => {
  const r = parseCommand(line);
  if (!r.ok) throw new Error(`${line}: ${JSON.stringify(r.reply)}`);
  return r.command;
};
const code = (line: string) => {
  const r = parseCommand(line);
  return r.ok ? 0 : r.reply.code;
};

describe('parseCommand', () => {
  it('reads verbs case-insensitively', () => {
    expect(cmd('ehlo client.example.org')).toEqual({ verb: 'EHLO', domain: 'client.example.org' });
    expect(cmd('HeLo [192.0.2.1]')).toEqual({ verb: 'HELO', domain: '[192.0.2.1]' });
    expect(cmd('quit')).toEqual({ verb: 'QUIT' });
    expect(cmd('NOOP anything at all')).toEqual({ verb: 'NOOP', arg: 'anything at all' });
  });

  it('parses MAIL FROM with every parameter we advertise', () => {
    expect(cmd('MAIL FROM:<bob@example.org> SIZE=1234 BODY=8bitmime SMTPUTF8 RET=HDRS ENVID=QQ+2B1')).toEqual(
      {
        verb: 'MAIL',
        address: 'bob@example.org',
        utf8: false,
        params: { size: 1234, body: '8BITMIME', smtputf8: true, ret: 'HDRS', envid: 'QQ+1' },
      },
    );
    expect(cmd('MAIL FROM:<>')).toMatchObject({ address: '' });
    expect(cmd('mail from: <bob@example.org>')).toMatchObject({ address: 'bob@example.org' });
    expect(cmd('MAIL FROM:bob@example.org')).toMatchObject({ address: 'bob@example.org' });
  });

  it('parses RCPT TO with DSN parameters, strips source routes, accepts <postmaster>', () => {
    expect(
      cmd('RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice+40x@example.test'),
    ).toEqual({
      verb: 'RCPT',
      address: 'alice@example.test',
      utf8: false,
      params: { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;alice@x@example.test' },
    });
    expect(cmd('RCPT TO:<@relay.example,@b.example:alice@example.test>')).toMatchObject({
      address: 'alice@example.test',
    });
    expect(cmd('RCPT TO:<Postmaster>')).toMatchObject({ address: 'postmaster' });
    expect(cmd('RCPT TO:<"a@b"@example.test>')).toMatchObject({ address: '"a@b"@example.test' });
  });

  it('refuses bad syntax with the right code', () => {
    const torture: [string, number][] = [
      ['', 500],
      ['XYZZY', 500],
      ['EHLO', 501],
      ['EHLO a b', 501],
      ['MAIL', 501],
      ['MAIL TO:<a@b.example>', 501],
      ['MAIL FROM:<a@b.example', 501],
      ['MAIL FROM:<a@b.example>x', 501],
      ['MAIL FROM:<a b@c.example>', 501],
      ['MAIL FROM:<a@b.example> <c@d.example>', 501],
      ['MAIL FROM:<@a.example:>', 501],
      ['MAIL FROM:<a@>', 501],
      ['MAIL FROM:<@b.example>', 501],
      ['MAIL FROM:<a@b..example>', 501],
      ['MAIL FROM:<a@-b.example>', 501],
      ['MAIL FROM:<a@b.example> SIZE=abc', 501],
      ['MAIL FROM:<a@b.example> SIZE=1 SIZE=2', 501],
      ['MAIL FROM:<a@b.example> BODY=BINARYMIME', 501],
      ['MAIL FROM:<a@b.example> SMTPUTF8=yes', 501],
      ['MAIL FROM:<a@b.example> ENVID=a+zz', 501],
      ['MAIL FROM:<a@b.example> XFORWARD=1', 555],
      ['MAIL FROM:<a@b.example> AUTH=<>', 555],
      ['RCPT TO:<>', 501],
      ['RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS', 501],
      ['RCPT TO:<a@b.example> NOTIFY=SOMETIMES', 501],
      ['RCPT TO:<a@b.example> ORCPT=nosemicolon', 501],
      ['DATA now', 501],
      ['STARTTLS please', 501],
      ['VRFY', 501],
      ['MAIL FROM:<a\u0000@b.example>', 501],
      [`MAIL FROM:<${'a'.repeat(65)}@b.example>`, 501],
      [`NOOP ${'x'.repeat(600)}`, 500],
      [`RCPT TO:<${'a'.repeat(60)}@${'b'.repeat(60)}.example> ORCPT=rfc822;${'c'.repeat(400)}`, 0],
    ];
    for (const [line, expected] of torture) expect([line, code(line)]).toEqual([line, expected]);
  });

  it('flags non-ASCII addresses (SMTPUTF8 is required for them)', () => {
    expect(cmd('MAIL FROM:<jörg@bücher.example> SMTPUTF8')).toMatchObject({ utf8: true });
    expect(cmd('RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>')).toMatchObject({ utf8: true });
  });

  it('drops non-SMTP clients (HTTP on port 25)', () => {
    const r = parseCommand('GET / HTTP/1.1');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.kind).toBe('not-smtp');
  });
});

describe('parameters and paths', () => {
  it('decodes xtext', () => {
    expect(decodeXtext('a+2Bb+3Dc')).toBe('a+b=c');
    expect(decodeXtext('a+2b')).toBeNull();
    expect(decodeXtext('a b')).toBeNull();
  });
  it('validates MAIL and RCPT parameters', () => {
    expect(parseMailParams('')).toEqual({ ok: true, params: { smtputf8: false } });
    expect(parseMailParams('RET=full').ok).toBe(true);
    expect(parseMailParams(`ENVID=${'x'.repeat(101)}`).ok).toBe(false);
    expect(parseRcptParams('NOTIFY=never')).toEqual({ ok: true, params: { notify: ['NEVER'] } });
    expect(parseRcptParams('NOTIFY=DELAY,DELAY').ok).toBe(false);
  });
  it('parses paths', () => {
    expect(parsePath('')).toEqual({ address: '', utf8: false });
    expect(parsePath('user@[192.0.2.1]')).toEqual({ address: 'user@[192.0.2.1]', utf8: false });
    expect(parsePath('user@[IPv6:2001:db8::1]')?.address).toBe('user@[IPv6:2001:db8::1]');
    expect(parsePath('a.@b.example')?.address).toBe('a.@b.example');
    expect(parsePath('a@b@c.example')).toBeNull();
    expect(parsePath('@a.example:')).toBeNull();
    expect(parsePath(`a@${'b'.repeat(64)}.example`)).toBeNull();
  });
});

describe('scanLine (RFC 5321 §2.3.8: CRLF only)', () => {
  const s = (text: string, max = 512) => scanLine(Buffer.from(text, 'latin1'), max);
  it('finds CRLF lines and waits for more', () => {
    expect(s('NOOP\r\nQUIT\r\n')).toMatchObject({ kind: 'line', next: 6 });
    expect(s('NOOP')).toEqual({ kind: 'need-more' });
    expect(s('NOOP\r')).toEqual({ kind: 'need-more' });
  });
  it('refuses bare LF and bare CR anywhere in a command', () => {
    expect(s('NOOP\n')).toEqual({ kind: 'bare-lf', next: 5 });
    expect(s('\n')).toEqual({ kind: 'bare-lf', next: 1 });
    expect(s('NO\rOP\r\n')).toEqual({ kind: 'bare-cr', next: 7 });
    expect(s('NOOP\rQUIT')).toMatchObject({ kind: 'bare-cr' });
    expect(s('NOOP\r\r\n')).toMatchObject({ kind: 'bare-cr' });
  });
  it('finds lines over the limit, complete or not', () => {
    expect(s(`${'x'.repeat(511)}\r\n`)).toEqual({ kind: 'too-long', next: 513 });
    expect(s(`${'x'.repeat(510)}\r\n`)).toMatchObject({ kind: 'line' });
    expect(s('x'.repeat(600))).toEqual({ kind: 'too-long', next: -1 });
  });
});
