// PROXY protocol headers, per-client limits and the pregreet memory.
import { describe, expect, it } from 'vitest';
import {
  ClientLimits,
  clientKey,
  MemoryPassedClients,
  parseProxyHeader,
  proxyV2Header,
} from '../src/index.js';

describe('PROXY protocol', () => {
  it('parses v1 TCP4, TCP6 and UNKNOWN', () => {
    const v1 = Buffer.from('PROXY TCP4 198.51.100.7 192.0.2.1 40000 25\r\nEHLO x\r\n');
    expect(parseProxyHeader(v1)).toMatchObject({
      kind: 'ok',
      length: 44,
      source: { address: '198.51.100.7', port: 40000 },
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 1 25\r\n'))).toMatchObject({
      kind: 'ok',
      source: { address: '2001:db8::7' },
    });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toMatchObject({ kind: 'ok', length: 15 });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 198.51'))).toEqual({ kind: 'incomplete' });
  });

  it('refuses malformed v1 headers', () => {
    for (const bad of [
      'EHLO x\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n',
      'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n',
      'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
      `PROXY ${'x'.repeat(120)}`,
    ])
      expect(parseProxyHeader(Buffer.from(bad)).kind).toBe('invalid');
  });

  it('parses v2 for IPv4 and IPv6, whole or in pieces, and LOCAL', () => {
    const h = proxyV2Header({ address: '203.0.113.9', port: 5555 }, { address: '192.0.2.1', port: 25 });
    expect(parseProxyHeader(h)).toMatchObject({
      kind: 'ok',
      version: 2,
      length: 28,
      source: { address: '203.0.113.9', port: 5555 },
    });
    for (let i = 0; i < h.length; i++) expect(parseProxyHeader(h.subarray(0, i)).kind).toBe('incomplete');
    const h6 = proxyV2Header({ address: '2001:db8::9', port: 1 }, { address: '2001:db8::1', port: 25 });
    expect(parseProxyHeader(h6)).toMatchObject({ kind: 'ok', source: { address: '2001:db8::9' } });
    const local = Buffer.from(h.subarray(0, 16));
    local[12] = 0x20;
    local.writeUInt16BE(0, 14);
    expect(parseProxyHeader(local)).toEqual({ kind: 'ok', length: 16, version: 2 });
  });
});

describe('ClientLimits', () => {
  it('limits concurrent connections per client, IPv6 per /64, with exceptions', () => {
    const l = new ClientLimits({
      connections: 2,
      messages: 0,
      recipients: 0,
      windowMs: 1000,
      exempt: (ip) => ip === '127.0.0.1',
    });
    expect([
      l.openConnection('192.0.2.1'),
      l.openConnection('192.0.2.1'),
      l.openConnection('192.0.2.1'),
    ]).toEqual([true, true, false]);
    l.closeConnection('192.0.2.1');
    expect(l.openConnection('192.0.2.1')).toBe(true);
    expect([l.openConnection('2001:db8::1'), l.openConnection('2001:db8:0:0:ffff::2')]).toEqual([true, true]);
    expect(l.openConnection('2001:db8::3')).toBe(false);
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    for (let i = 0; i < 5; i++) expect(l.openConnection('127.0.0.1')).toBe(true);
  });

  it('limits messages and recipients per window', () => {
    let now = 0;
    const l = new ClientLimits({ connections: 0, messages: 2, recipients: 3, windowMs: 1000 }, () => now);
    expect([l.takeMessage('a'), l.takeMessage('a'), l.takeMessage('a'), l.takeMessage('b')]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect([1, 2, 3, 4].map(() => l.takeRecipient('a'))).toEqual([true, true, true, false]);
    now = 1000;
    expect(l.takeMessage('a')).toBe(true);
  });

  it('limits new connections per window, in windows aligned to the clock', () => {
    let now = 1500;
    const l = new ClientLimits(
      { connections: 0, connectionRate: 2, messages: 0, recipients: 0, windowMs: 1000 },
      () => now,
    );
    expect([l.openConnection('a'), l.openConnection('a'), l.openConnection('a')]).toEqual([
      true,
      true,
      false,
    ]);
    // A refused connection is not counted as open: closing the two leaves none.
    l.closeConnection('a');
    l.closeConnection('a');
    expect(l.openConnection('a')).toBe(false);
    now = 2000; // the next window starts at 2000, not at 2500
    expect(l.openConnection('a')).toBe(true);
  });
});

describe('MemoryPassedClients', () => {
  it('remembers for the TTL, and forgets the oldest beyond its size', () => {
    let now = 0;
    const p = new MemoryPassedClients(1000, 2, () => now);
    p.add('a');
    p.add('b');
    expect(p.has('a')).toBe(true);
    p.add('c');
    expect([p.has('a'), p.has('b'), p.has('c')]).toEqual([false, true, true]);
    now = 1000;
    expect(p.has('b')).toBe(false);
  });
});
