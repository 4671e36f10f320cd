// Pure parts of the policy: name syntax, IP helpers, DNSBL site specs and the
// verdict → decision mapping. No sockets.
import { describe, expect, it } from 'vitest';
import { siteMatches } from '../src/checks/dnsbl-sites.js';
import {
  checkHelo,
  checkRecipientSyntax,
  checkSender,
  clientNetwork,
  decide,
  inCidrs,
  isFqdn,
  parseAddressLiteral,
  parseCidr,
  parseDnsblSite,
  ptrName,
} from '../src/index.js';

describe('names', () => {
  it('FQDN syntax (RFC 5321 §4.1.2)', () => {
    for (const ok of ['mail.example.org', 'a.b', '1.example.org', 'x-y.example.org.'])
      expect(isFqdn(ok)).toBe(true);
    for (const bad of ['localhost', 'example', '192.0.2.1', '-a.example.org', 'a..b', 'a_b.example.org', ''])
      expect(isFqdn(bad)).toBe(false);
  });
  it('address literals (RFC 5321 §4.1.3)', () => {
    expect(parseAddressLiteral('[192.0.2.1]')).toBe('192.0.2.1');
    expect(parseAddressLiteral('[IPv6:2001:DB8::1]')).toBe('2001:db8::1');
    expect(parseAddressLiteral('[2001:db8::1]')).toBeNull();
    expect(parseAddressLiteral('[999.0.0.1]')).toBeNull();
  });
  it('sender and recipient syntax', () => {
    expect(checkSender('').result).toBe('pass');
    expect(checkSender('bob@example.org').result).toBe('pass');
    expect(checkSender('bob').result).toBe('fail');
    expect(checkSender('bob@localhost').result).toBe('fail');
    expect(checkRecipientSyntax('alice@example').result).toBe('fail');
  });
  it('HELO: literal policy and "you are not me"', async () => {
    const base = {
      clientIp: '192.0.2.1',
      ourNames: ['mx.example.test'],
      isOurDomain: async (n: string) => n === 'example.test',
    };
    expect((await checkHelo({ ...base, helo: '[192.0.2.1]', literals: 'match' })).result).toBe('pass');
    expect((await checkHelo({ ...base, helo: '[192.0.2.2]', literals: 'match' })).result).toBe('fail');
    expect((await checkHelo({ ...base, helo: '[192.0.2.2]', literals: 'allow' })).result).toBe('pass');
    expect((await checkHelo({ ...base, helo: '[192.0.2.1]', literals: 'reject' })).result).toBe('fail');
    expect((await checkHelo({ ...base, helo: 'MX.example.test', literals: 'match' })).result).toBe('fail');
    expect((await checkHelo({ ...base, helo: 'example.test', literals: 'match' })).result).toBe('fail');
    expect((await checkHelo({ ...base, helo: undefined, literals: 'match' })).result).toBe('fail');
  });
});

describe('ip', () => {
  it('reverse names and greylisting networks', () => {
    expect(ptrName('192.0.2.1')).toBe('1.2.0.192.in-addr.arpa');
    expect(ptrName('2001:db8::1')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
    expect(clientNetwork('192.0.2.77')).toBe('192.0.2.0/24');
    expect(clientNetwork('::ffff:192.0.2.77')).toBe('192.0.2.0/24');
    expect(clientNetwork('2001:db8:1:2:3::4')).toBe(clientNetwork('2001:db8:1:2:ffff::1'));
  });
  it('CIDR matching', () => {
    const nets = ['10.0.0.0/8', '2001:db8::/32'].map((s) => parseCidr(s)!);
    expect(inCidrs('10.1.2.3', nets)).toBe(true);
    expect(inCidrs('::ffff:10.1.2.3', nets)).toBe(true);
    expect(inCidrs('11.0.0.1', nets)).toBe(false);
    expect(inCidrs('2001:db8:ffff::1', nets)).toBe(true);
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });
  it('IPv4 CIDR matching by numbers, at every prefix length and at the edges', () => {
    const all = parseCidr('0.0.0.0/0')!;
    const host = parseCidr('192.0.2.7')!;
    const odd = parseCidr('198.51.100.128/25')!;
    const high = parseCidr('255.255.255.0/24')!;
    expect(inCidrs('203.0.113.1', [all])).toBe(true);
    expect(inCidrs('2001:db8::1', [all])).toBe(false);
    expect(inCidrs('192.0.2.7', [host])).toBe(true);
    expect(inCidrs('192.0.2.70', [host])).toBe(false);
    expect(inCidrs('198.51.100.128', [odd])).toBe(true);
    expect(inCidrs('198.51.100.255', [odd])).toBe(true);
    expect(inCidrs('198.51.100.127', [odd])).toBe(false);
    expect(inCidrs('255.255.255.255', [high])).toBe(true);
    expect(inCidrs('255.255.254.255', [high])).toBe(false);
    expect(inCidrs('192.0.2.7', [])).toBe(false);
    expect(inCidrs('not-an-ip', [all])).toBe(false);
    // A Cidr made without parseCidr (no numeric form) is matched by its bits.
    expect(inCidrs('127.1.2.3', [{ family: 4, bits: '01111111' }])).toBe(true);
    expect(inCidrs('128.1.2.3', [{ family: 4, bits: '01111111' }])).toBe(false);
    // The same answer as the bit strings for every prefix length of one network.
    for (let n = 0; n <= 32; n++) {
      const c = parseCidr(`203.0.113.77/${n}`)!;
      for (const ip of ['203.0.113.77', '203.0.113.76', '203.0.112.77', '75.0.113.77', '0.0.0.0'])
        expect(inCidrs(ip, [c])).toBe(inCidrs(ip, [{ family: 4, bits: c.bits }]));
    }
  });
});

describe('DNSBL site specs (postscreen syntax)', () => {
  it('parses filters and weights', () => {
    const s = parseDnsblSite('zen.spamhaus.org=127.0.0.[2..11]*3')!;
    expect(s.weight).toBe(3);
    expect(siteMatches(s, '127.0.0.4')).toBe(true);
    expect(siteMatches(s, '127.0.0.12')).toBe(false);
    const w = parseDnsblSite('list.dnswl.org=127.0.[0..255].[2;3]*-5')!;
    expect(w.weight).toBe(-5);
    expect(siteMatches(w, '127.0.9.3')).toBe(true);
    expect(siteMatches(w, '127.0.9.1')).toBe(false);
    const any = parseDnsblSite('bl.example')!;
    expect(siteMatches(any, '127.0.0.2')).toBe(true);
    expect(siteMatches(any, '127.255.255.254')).toBe(false);
    expect(parseDnsblSite('bad zone')).toBeNull();
    expect(parseDnsblSite('z.example=127.0.0')).toBeNull();
  });
});

describe('decide', () => {
  const fail = { result: 'fail', reply: { code: 550, status: '5.7.25', text: 'x' }, detail: 'd' } as const;
  it('maps each action', () => {
    expect(decide('fcrdns', fail, 'reject').reply).toEqual(fail.reply);
    expect(decide('fcrdns', fail, 'defer').reply).toEqual({ code: 450, status: '4.7.25', text: 'x' });
    expect(decide('fcrdns', fail, 'warn')).toEqual({ check: 'fcrdns', action: 'warn', detail: 'd' });
    expect(decide('fcrdns', fail, 'off').action).toBe('pass');
  });
  it('never turns a tempfail into a reject', () => {
    const d = decide('fcrdns', { result: 'tempfail', detail: 'ETIMEOUT' }, 'reject');
    expect(d.action).toBe('defer');
    expect(d.reply?.code).toBe(451);
  });
});
