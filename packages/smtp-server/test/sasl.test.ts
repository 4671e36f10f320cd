// SASL PLAIN and LOGIN without sockets: the decoders and the 334 exchange
// driven by a scripted AuthRequest.
import { describe, expect, it } from 'vitest';
import type { AuthRequest } from '../src/index.js';
import { decodeSaslResponse, parsePlain, saslExchange } from '../src/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function request(mechanism: string, initial: string | undefined, answers: (string | null)[]) {
  const asked: string[] = [];
  const req: AuthRequest = {
    mechanism,
    ...(initial !== undefined ? { initial } : {}),
    async challenge(text) {
      asked.push(text);
      return answers.shift() ?? null;
    },
  };
  return { req, asked };
}

describe('SASL decoders', () => {
  it('accepts strict base64 and = for an empty response', () => {
    expect(decodeSaslResponse('=')?.length).toBe(0);
    expect(decodeSaslResponse(b64('abc'))?.toString()).toBe('abc');
    expect(decodeSaslResponse('ab c')).toBeNull();
    expect(decodeSaslResponse('abc')).toBeNull();
    expect(decodeSaslResponse('!!!!')).toBeNull();
  });

  it('parses PLAIN (RFC 4616 §2) and refuses acting as someone else', () => {
    expect(parsePlain(Buffer.from('\0alice@x.test\0pw'))).toEqual({
      kind: 'credentials',
      credentials: { user: 'alice@x.test', password: 'pw' },
    });
    expect(parsePlain(Buffer.from('alice@x.test\0alice@x.test\0pw')).kind).toBe('credentials');
    expect(parsePlain(Buffer.from('bob@x.test\0alice@x.test\0pw')).kind).toBe('malformed');
    expect(parsePlain(Buffer.from('alice\0pw')).kind).toBe('malformed');
    expect(parsePlain(Buffer.from('\0alice\0pw\0more')).kind).toBe('malformed');
    expect(parsePlain(Buffer.from('\0\0pw')).kind).toBe('malformed');
    expect(parsePlain(Buffer.from([0, 0x61, 0, 0xff, 0xfe])).kind).toBe('malformed');
  });
});

describe('saslExchange', () => {
  it('PLAIN with an initial response asks nothing', async () => {
    const { req, asked } = request('PLAIN', b64('\0alice\0secret'), []);
    expect(await saslExchange(req)).toEqual({
      kind: 'credentials',
      credentials: { user: 'alice', password: 'secret' },
    });
    expect(asked).toEqual([]);
  });

  it('PLAIN without one sends an empty 334 challenge', async () => {
    const { req, asked } = request('PLAIN', undefined, [b64('\0alice\0secret')]);
    expect((await saslExchange(req)).kind).toBe('credentials');
    expect(asked).toEqual(['']);
  });

  it('LOGIN asks for user name and password; an initial response is the user name', async () => {
    const a = request('LOGIN', undefined, [b64('alice'), b64('secret')]);
    expect(await saslExchange(a.req)).toEqual({
      kind: 'credentials',
      credentials: { user: 'alice', password: 'secret' },
    });
    expect(a.asked).toEqual([b64('Username:'), b64('Password:')]);
    const b = request('LOGIN', b64('alice'), [b64('secret')]);
    expect((await saslExchange(b.req)).kind).toBe('credentials');
    expect(b.asked).toEqual([b64('Password:')]);
  });

  it('* cancels, garbage is malformed, other mechanisms are unsupported', async () => {
    expect((await saslExchange(request('LOGIN', undefined, [b64('alice'), null]).req)).kind).toBe(
      'cancelled',
    );
    expect((await saslExchange(request('PLAIN', 'not base64!', []).req)).kind).toBe('malformed');
    expect((await saslExchange(request('CRAM-MD5', undefined, []).req)).kind).toBe('unsupported');
  });
});
