// Pure parts of the relay, without sockets: the SSRF guard, MX ordering, the
// backoff schedule, envelope checks, reply classification and the DSN layout.
import { describe, expect, it } from 'vitest';
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
