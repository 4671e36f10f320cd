// SPAMC/1.5 parsing and serialising, without sockets.
import { describe, expect, it } from 'vitest';
import { buildRequest, parseResponse, parseSpamHeader, parseSymbols } from '../src/spamc-wire.js';

describe('SPAMC wire', () => {
  it('parses True/False with negative and -0.0 scores', () => {
    expect(parseSpamHeader('True ; 1000.0 / 5.0')).toEqual({ isSpam: true, score: 1000, threshold: 5 });
    expect(parseSpamHeader('False ; -0.0 / 5.0')).toEqual({ isSpam: false, score: 0, threshold: 5 });
    expect(parseSpamHeader('False ; -2.5 / 5.0')).toEqual({ isSpam: false, score: -2.5, threshold: 5 });
    expect(parseSpamHeader('Yes ; 7 / -1.0')).toEqual({ isSpam: true, score: 7, threshold: -1 });
    expect(parseSpamHeader('maybe')).toBeNull();
  });

  it('keeps every symbol, including the last', () => {
    expect(parseSymbols(Buffer.from('GTUBE,NO_RECEIVED,NO_RELAYS'))).toEqual([
      'GTUBE',
      'NO_RECEIVED',
      'NO_RELAYS',
    ]);
    expect(parseSymbols(Buffer.from('\n'))).toEqual([]);
  });

  it('reads the body by Content-length in bytes, keeping blank lines', () => {
    const body = Buffer.from('X-Spam-Flag: YES\r\n\r\nÄ\r\n');
    const reply = Buffer.concat([
      Buffer.from(`SPAMD/1.1 0 EX_OK\r\nContent-length: ${body.length}\r\nSpam: True ; 9.0 / 5.0\r\n\r\n`),
      body,
    ]);
    const r = parseResponse(reply);
    expect(r).toMatchObject({ code: 0, headers: { spam: 'True ; 9.0 / 5.0' } });
    expect('body' in r && r.body.equals(body)).toBe(true);
    expect(parseResponse(Buffer.from('SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\n\r\nabc'))).toEqual({
      error: 'short body: 3 of 10 bytes',
    });
    expect(parseResponse(Buffer.from('SPAMD/1.5 0 PONG\r\n'))).toMatchObject({ code: 0, message: 'PONG' });
  });

  it('refuses header injection', () => {
    expect(() => buildRequest('CHECK', { User: 'a\r\nSet: local' })).toThrow();
    expect(buildRequest('TELL', { 'Message-class': 'spam', Remove: undefined }).toString()).toBe(
      'TELL SPAMC/1.5\r\nMessage-class: spam\r\n\r\n',
    );
  });
});
