// Pure parts of the relay, without sockets: the SSRF guard, MX ordering, the
// backoff schedule, envelope checks, reply classification and the DSN layout.
import { describe, expect, it } from 'vitest';
import { decodeReply, TYPE } from '../src/dnssec.js';
import { buildDsn } from '../src/dsn.js';
import { checkAddress } from '../src/ip-safety.js';
import { fromReply } from '../src/replies.js';
import { orderMx } from '../src/route.js';
import { backoff, nextAttempt } from '../src/schedule.js';
import { addressProblem } from '../src/wire-safety.js';

describe('checkAddress', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.5',
    '172.16.3.4',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:7f00:1::1',
    '2001:0:4136:e378::1',
    '010.0.0.1',
    '127.1',
    'localhost',
  ])('refuses %s', (ip) => {
    expect(checkAddress(ip).ok).toBe(false);
  });

  it.each(['192.0.43.10', '8.8.8.8', '2a00:1450:4001:81c::200e'])('accepts %s', (ip) => {
    expect(checkAddress(ip).ok).toBe(true);
  });

  it('lets explicitly allowed networks through, and nothing else', () => {
    const allow = [{ family: 4 as const, bits: '01111111' }];
    expect(checkAddress('127.0.0.9', allow).ok).toBe(true);
    expect(checkAddress('10.0.0.1', allow).ok).toBe(false);
  });
});

describe('orderMx', () => {
  it('sorts by preference and shuffles equal ones', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const order = orderMx([
        { exchange: 'c', priority: 20 },
        { exchange: 'a', priority: 10 },
        { exchange: 'b', priority: 10 },
      ]);
      expect(order[2]).toBe('c');
      seen.add(order.join());
    }
    expect(seen).toEqual(new Set(['a,b,c', 'b,a,c']));
  });
});

describe('schedule', () => {
  const s = { minMs: 300_000, maxMs: 4_000_000, lifetimeMs: 5 * 86_400_000 };
  it('doubles from the minimum up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoff(n, s))).toEqual([
      300_000, 600_000, 1_200_000, 2_400_000, 4_000_000, 4_000_000,
    ]);
  });
  it('never schedules past the expiry', () => {
    expect(nextAttempt(1000, 6, 0, { ...s, lifetimeMs: 5000 })).toBe(5000);
  });
});

describe('addressProblem', () => {
  it.each([
    ['a@b.example', null],
    ['a\r\nRCPT TO:<x@y>@b.example', 'control-characters'],
    ['a\u0000@b.example', 'control-characters'],
    ['a b@b.example', 'control-characters'],
    ['a>@b.example', 'control-characters'],
    ['nodomain', 'no-domain'],
    [`${'x'.repeat(65)}@b.example`, 'too-long'],
  ])('%j → %s', (addr, problem) => {
    expect(addressProblem(addr)).toBe(problem);
  });
});

describe('fromReply', () => {
  it('maps classes and enhanced codes', () => {
    expect(fromReply('250 2.0.0 ok').kind).toBe('sent');
    expect(fromReply('451 4.7.1 later')).toMatchObject({ kind: 'temp', status: '4.7.1' });
    expect(fromReply('550 5.1.1 unknown')).toMatchObject({ kind: 'perm', status: '5.1.1' });
    expect(fromReply('554 no code')).toMatchObject({ kind: 'perm', status: '5.0.0' });
    expect(fromReply('garbage')).toMatchObject({ kind: 'temp' });
  });
});

describe('buildDsn', () => {
  it('writes the RFC 3464 fields and keeps remote text on one line', () => {
    const { bytes } = buildDsn({
      hostname: 'relay.example',
      queueId: 'Q1',
      sender: 'a@example.org',
      envid: 'E1',
      arrival: new Date(0),
      recipients: [
        {
          address: 'b@example.net',
          orcpt: 'rfc822;B@example.net',
          action: 'failed',
          status: '5.1.1',
          smtp: '550 5.1.1 no\r\nInjected: header',
          reason: 'x',
          remoteMta: 'mx.example.net',
        },
      ],
      returned: { kind: 'headers', bytes: Buffer.from('Subject: hi\r\n\r\n') },
      now: new Date(0),
    });
    const text = bytes.toString();
    expect(text).toContain('Original-Envelope-Id: E1\r\n');
    expect(text).toContain('Original-Recipient: rfc822;B@example.net\r\n');
    expect(text).toContain('Diagnostic-Code: smtp; 550 5.1.1 no Injected: header\r\n');
    expect(text).not.toMatch(/^Injected:/m);
    expect(text).toContain('Auto-Submitted: auto-replied\r\n');
  });
});

describe('decodeReply', () => {
  const name = (n: string) =>
    Buffer.concat([
      ...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0]),
    ]);
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const rr = (owner: Buffer, type: number, rdata: Buffer) =>
    Buffer.concat([owner, u16(type), u16(1), Buffer.from([0, 0, 0, 60]), u16(rdata.length), rdata]);
  /** A reply with the AD bit to `A? MX.Alias.test`, answers built by `answers` (offset 12 = the question name). */
  const reply = (answers: Buffer[]) =>
    Buffer.concat([
      Buffer.from([0x12, 0x34, 0x81, 0xa0, 0, 1]),
      u16(answers.length),
      Buffer.from([0, 0, 0, 0]),
      name('MX.Alias.test'),
      u16(TYPE.A),
      u16(1),
      ...answers,
    ]);
  const pointer = (off: number) => Buffer.from([0xc0 | (off >> 8), off & 0xff]);

  it('follows the CNAME chain of the question, through compression pointers, to the canonical name', () => {
    const cnameRdata = name('host.target.test');
    // The CNAME's owner points at the question name; the A record's owner points into the CNAME's RDATA.
    const cname = rr(pointer(12), TYPE.CNAME, cnameRdata);
    const cnameRdataAt = 12 + name('MX.Alias.test').length + 4 + 2 + 2 + 2 + 4 + 2;
    const a = rr(pointer(cnameRdataAt), TYPE.A, Buffer.from([192, 0, 2, 7]));
    const r = decodeReply(reply([cname, a]), TYPE.A);
    expect(r).toEqual({
      kind: 'ok',
      secure: true,
      rdata: [Buffer.from([192, 0, 2, 7])],
      canonical: 'host.target.test',
    });
  });

  it('has no canonical name without a CNAME, and keeps it when the target has no record of the type', () => {
    const plain = decodeReply(reply([rr(pointer(12), TYPE.A, Buffer.from([192, 0, 2, 8]))]), TYPE.A);
    expect(plain).toEqual({ kind: 'ok', secure: true, rdata: [Buffer.from([192, 0, 2, 8])] });
    const dangling = decodeReply(reply([rr(pointer(12), TYPE.CNAME, name('gone.test'))]), TYPE.A);
    expect(dangling).toEqual({ kind: 'none', secure: true, canonical: 'gone.test' });
  });

  it('refuses a name pointer loop instead of spinning', () => {
    const loop = Buffer.concat([reply([]).subarray(0, 12), pointer(12), u16(TYPE.A), u16(1)]);
    expect(() => decodeReply(loop, TYPE.A)).toThrow(/loop/);
  });
});
