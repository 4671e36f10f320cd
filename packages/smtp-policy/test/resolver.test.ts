// The cached resolver against the test DNS server: answers, NXDOMAIN as "none",
// timeout and SERVFAIL as "tempfail" (never cached), and TTL caching.
import { startDnsServer, type TestDnsServer } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFcrdns, createResolver } from '../src/index.js';

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer({ ttl: 60 });
});
afterAll(() => dns.stop());

describe('createResolver', () => {
  it('classifies answers and caches positive ones by TTL', async () => {
    const r = createResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300 });
    dns.set('a.example', [{ type: 'A', address: '192.0.2.1' }]);
    expect(await r.lookup('a.example', 'A')).toEqual({ kind: 'ok', records: ['192.0.2.1'] });
    dns.set('a.example', [{ type: 'A', address: '192.0.2.2' }]);
    expect(await r.lookup('A.example', 'A')).toEqual({ kind: 'ok', records: ['192.0.2.1'] });
    expect((await r.lookup('missing.example', 'MX')).kind).toBe('none');
    dns.timeout('slow.example');
    // The server never answers slow.example: only the timeout can end the lookup.
    expect((await r.lookup('slow.example', 'A')).kind).toBe('tempfail');
    dns.servfail('broken.example');
    expect((await r.lookup('broken.example', 'TXT')).kind).toBe('tempfail');
    dns.set('broken.example', [{ type: 'TXT', text: 'ok' }]);
    expect(await r.lookup('broken.example', 'TXT')).toEqual({ kind: 'ok', records: [['ok']] });
  });

  it('FCrDNS: pass, no PTR, mismatch, timeout', async () => {
    const r = createResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300, maxTtlMs: 0 });
    dns.host4('good.example', '192.0.2.10');
    expect(await checkFcrdns('192.0.2.10', r)).toMatchObject({ result: 'pass', ptr: 'good.example' });
    expect((await checkFcrdns('192.0.2.11', r)).result).toBe('fail');
    dns.add('12.2.0.192.in-addr.arpa', { type: 'PTR', name: 'good.example' });
    expect((await checkFcrdns('192.0.2.12', r)).result).toBe('fail');
    dns.timeout('13.2.0.192.in-addr.arpa');
    expect((await checkFcrdns('192.0.2.13', r)).result).toBe('tempfail');
  });
});
