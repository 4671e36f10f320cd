import { promises as dns } from 'node:dns';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clamdPing,
  EICAR,
  GTUBE,
  redisPing,
  startClamd,
  startDnsServer,
  startRedis,
  startSpamd,
  type TestDnsServer,
} from '../src/index.js';

/** Sends raw bytes, half-closes, collects the whole answer. */
function exchange(port: number, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString()));
    sock.on('error', reject);
    sock.connect(port, '127.0.0.1', () => sock.end(payload));
  });
}

function instream(port: number, data: string): Promise<string> {
  const body = Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return exchange(port, Buffer.concat([Buffer.from('zINSTREAM\0'), len, body, Buffer.alloc(4)]));
}

describe('testkit: redis', () => {
  it('starts with append-only persistence, survives a kill and restart with its data', async () => {
    const redis = await startRedis({ appendfsync: 'always' });
    try {
      expect(await redisPing(redis.port)).toBe(true);
      expect(
        await exchange(redis.port, Buffer.from('SET k v\r\nCONFIG GET appendonly\r\nQUIT\r\n')),
      ).toContain('yes');
      await redis.kill();
      expect(await redisPing(redis.port)).toBe(false);
      await redis.restart();
      expect(await exchange(redis.port, Buffer.from('GET k\r\nQUIT\r\n'))).toContain('$1\r\nv');
    } finally {
      await redis.stop();
    }
  });
});

describe('testkit: clamd', () => {
  it('detects the EICAR string offline and passes clean data', async () => {
    const clamd = await startClamd();
    try {
      expect(await clamdPing(clamd.port)).toBe(true);
      expect(await instream(clamd.port, `Subject: test\r\n\r\n${EICAR}\r\n`)).toMatch(
        /stream: Postamt\.Test\.EICAR.* FOUND/,
      );
      expect(await instream(clamd.port, 'Subject: hello\r\n\r\nJust a friendly note.\r\n')).toMatch(
        /stream: OK/,
      );
    } finally {
      await clamd.stop();
    }
    expect(await clamdPing(clamd.port)).toBe(false);
  });
});

describe('testkit: spamd', () => {
  it('answers PING and scores GTUBE as spam, a plain note as ham', async () => {
    const spamd = await startSpamd();
    try {
      const check = async (msg: string) => {
        const body = Buffer.from(msg);
        return exchange(
          spamd.port,
          Buffer.concat([Buffer.from(`CHECK SPAMC/1.5\r\nContent-length: ${body.length}\r\n\r\n`), body]),
        );
      };
      expect(await check(`Subject: x\r\n\r\n${GTUBE}\r\n`)).toMatch(/Spam: True ; 10\d\d\.\d \/ 5\.0/);
      expect(await check('From: a@example.test\r\nSubject: lunch\r\n\r\nLunch at noon?\r\n')).toMatch(
        /Spam: False/,
      );
    } finally {
      await spamd.stop();
    }
  });
});

describe('testkit: dns', () => {
  let server: TestDnsServer;
  let resolver: dns.Resolver;
  beforeAll(async () => {
    server = await startDnsServer();
    resolver = new dns.Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([server.address]);
  });
  afterAll(() => server.stop());

  it('serves the records a test sets', async () => {
    server.host4('mx.example.test', '192.0.2.10');
    server.set('example.test', [
      { type: 'MX', exchange: 'mx.example.test', priority: 10 },
      { type: 'TXT', text: 'v=spf1 ip4:192.0.2.0/24 -all' },
    ]);
    server.host4('v6.example.test', '2001:db8::1');
    expect(await resolver.resolve4('mx.example.test')).toEqual(['192.0.2.10']);
    expect(await resolver.reverse('192.0.2.10')).toEqual(['mx.example.test']);
    expect(await resolver.resolveMx('example.test')).toMatchObject([
      { exchange: 'mx.example.test', priority: 10 },
    ]);
    expect(await resolver.resolveTxt('example.test')).toEqual([['v=spf1 ip4:192.0.2.0/24 -all']]);
    expect(await resolver.resolve6('v6.example.test')).toEqual(['2001:db8::1']);
    expect(await resolver.reverse('2001:db8::1')).toEqual(['v6.example.test']);
    expect(server.queries).toContain('MX example.test');
  });

  it('serves IPv6 addresses given in mixed notation, forward and reverse', async () => {
    server.host4('mapped.example.test', '::ffff:127.0.0.1');
    server.host4('compat.example.test', '2001:db8::192.0.2.33');
    // c-ares prints an IPv4-mapped address in mixed notation again.
    expect(await resolver.resolve6('mapped.example.test')).toEqual(['::ffff:127.0.0.1']);
    expect(await resolver.resolve6('compat.example.test')).toEqual(['2001:db8::c000:221']);
    expect(await resolver.reverse('::ffff:7f00:1')).toEqual(['mapped.example.test']);
  });

  it('answers NXDOMAIN, NODATA, SERVFAIL, or nothing at all', async () => {
    server.set('nodata.example.test', [{ type: 'A', address: '192.0.2.1' }]);
    server.timeout('slow.example.test');
    server.servfail('broken.example.test');
    await expect(resolver.resolve4('missing.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolveMx('nodata.example.test')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolve4('broken.example.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    await expect(resolver.resolve4('slow.example.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });
});
