// The spamd client against a real spamd (SpamAssassin with Debian's rules,
// network tests off), plus stub servers for the failure modes.
import { Readable } from 'node:stream';
import {
  freePort,
  GTUBE,
  hamSample,
  type SpamdServer,
  spamSample,
  startSpamd,
  textMessage,
} from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONE_WRITE_BYTES } from '../src/exchange.js';
import { SpamdClient } from '../src/spamd.js';
import { startStub } from './silent-server.js';

let spamd: SpamdServer;
let client: SpamdClient;

beforeAll(async () => {
  spamd = await startSpamd({
    bayesMinLearned: 20,
    // A local rule with a negative score, so a ham's total is clearly below zero.
    extraConfig: ['header POSTAMT_HAMMY Subject =~ /hammy/', 'score POSTAMT_HAMMY -3.5'],
  });
  client = new SpamdClient({ host: spamd.host, port: spamd.port });
}, 120_000);
afterAll(() => spamd?.stop());

describe('SpamdClient against spamd', () => {
  it('answers PING', async () => {
    expect(await client.ping()).toBe(true);
  });

  it('GTUBE is spam with score 1000 and the GTUBE rule', async () => {
    const r = await client.check(textMessage(`buy now\n${GTUBE}\n`));
    expect(r).toMatchObject({ status: 'ok', isSpam: true, score: expect.any(Number), threshold: 5 });
    if (r.status !== 'ok') return;
    expect(r.score).toBeGreaterThanOrEqual(999);
    expect(r.rules).toContain('GTUBE');
  });

  it('reads negative scores', async () => {
    const r = await client.check(textMessage('see you at the meeting', { subject: 'hammy notes' }));
    expect(r).toMatchObject({ status: 'ok', isSpam: false });
    if (r.status !== 'ok') return;
    expect(r.score).toBeLessThan(-1);
    expect(r.rules).toContain('POSTAMT_HAMMY');
  });

  it('counts Content-length in bytes (multi-byte UTF-8 body), streamed with a known size', async () => {
    const msg = textMessage('Grüße aus Köln — 日本語のテキスト ✉️\n'.repeat(50), { subject: 'hammy' });
    const r = await client.check({
      size: msg.length,
      stream: Readable.from([msg.subarray(0, 7), msg.subarray(7)]),
    });
    expect(r).toMatchObject({ status: 'ok', isSpam: false });
  });

  it('REPORT and HEADERS return spamd text; User: is accepted', async () => {
    const msg = textMessage(GTUBE);
    const report = await client.check(msg, { command: 'REPORT', user: 'alice@example.test' });
    expect(report).toMatchObject({ status: 'ok', isSpam: true, body: expect.stringContaining('GTUBE') });
    const headers = await client.check(msg, { command: 'HEADERS' });
    expect(headers).toMatchObject({ status: 'ok', body: expect.stringContaining('X-Spam-Status: Yes') });
  });

  it('a message in memory over the one-write size goes out as head, then body, and is scored whole', async () => {
    const big = textMessage(
      `${GTUBE}\n${'plain filler line\n'.repeat(Math.ceil(ONE_WRITE_BYTES / 18) + 10)}`,
    );
    expect(big.length).toBeGreaterThan(ONE_WRITE_BYTES);
    const wide = new SpamdClient({ host: spamd.host, port: spamd.port, maxBytes: 2 * ONE_WRITE_BYTES });
    const r = await wide.check(big);
    expect(r).toMatchObject({ status: 'ok', isSpam: true });
    expect(r).not.toHaveProperty('truncated');
  }, 120_000);

  it('cuts messages over maxBytes and says so', async () => {
    const small = new SpamdClient({ host: spamd.host, port: spamd.port, maxBytes: 4096 });
    const r = await small.check(textMessage(`${GTUBE}\n${'filler text '.repeat(5_000)}`));
    expect(r).toMatchObject({ status: 'ok', isSpam: true, truncated: true });
  });

  it('TELL trains Bayes until BAYES_ rules fire', async () => {
    const probeSpam = spamSample(1000);
    const probeHam = hamSample(1000);
    const before = await client.check(probeSpam);
    expect(before.status === 'ok' && before.rules.some((r) => r.startsWith('BAYES_'))).toBe(false);
    const t0 = Date.now();
    for (let i = 0; i < 25; i++) {
      const s = await client.tell(spamSample(i), { messageClass: 'spam', set: ['local'] });
      expect(s).toEqual({ status: 'ok', didSet: ['local'], didRemove: [] });
      const h = await client.tell(hamSample(i), { messageClass: 'ham', set: ['local'] });
      expect(h).toMatchObject({ status: 'ok', didSet: ['local'] });
    }
    const trainMs = Date.now() - t0;
    const spam = await client.check(probeSpam);
    const ham = await client.check(probeHam);
    expect(spam.status === 'ok' && spam.rules.filter((r) => r.startsWith('BAYES_9'))).not.toEqual([]);
    expect(ham.status === 'ok' && ham.rules).toContain('BAYES_00');
    if (ham.status === 'ok' && spam.status === 'ok') expect(ham.score).toBeLessThan(spam.score);
    console.log(`bayes: 50 TELLs in ${trainMs} ms`);
    // Forgetting (Remove: local) is answered with DidRemove.
    const forget = await client.tell(spamSample(0), { messageClass: 'spam', remove: ['local'] });
    expect(forget).toMatchObject({ status: 'ok', didRemove: ['local'] });
  });
});

describe('SpamdClient failure modes are values', () => {
  it('connection refused → error (and PING false)', async () => {
    const port = await freePort();
    const c = new SpamdClient({ host: '127.0.0.1', port });
    expect(await c.check(textMessage('hi'))).toMatchObject({ status: 'error', reason: 'refused' });
    expect(await c.ping()).toBe(false);
  });

  it('a server that accepts and never answers → timeout error', async () => {
    const stub = await startStub();
    try {
      const c = new SpamdClient({
        host: '127.0.0.1',
        port: stub.port,
        deadlines: { idleMs: 300, totalMs: 800 },
      });
      // The stub never answers: only the deadline can end the call.
      expect(await c.check(textMessage('hi'))).toMatchObject({ status: 'error', reason: 'timeout' });
    } finally {
      await stub.close();
    }
  });

  it('EX_TEMPFAIL → tempfail error; garbage → protocol error', async () => {
    const temp = await startStub((s) => s.end('SPAMD/1.5 75 EX_TEMPFAIL\r\n\r\n'));
    const junk = await startStub((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      const r1 = await new SpamdClient({ host: '127.0.0.1', port: temp.port }).check(textMessage('hi'));
      expect(r1).toMatchObject({ status: 'error', reason: 'tempfail' });
      const r2 = await new SpamdClient({ host: '127.0.0.1', port: junk.port }).check(textMessage('hi'));
      expect(r2).toMatchObject({ status: 'error', reason: 'protocol' });
    } finally {
      await temp.close();
      await junk.close();
    }
  });

  it('a stream shorter than its declared size → source error, no hang', async () => {
    const msg = textMessage('hi');
    const r = await client.check({ size: msg.length + 10, stream: Readable.from([msg]) });
    expect(r).toMatchObject({ status: 'error', reason: 'source' });
  });
});
