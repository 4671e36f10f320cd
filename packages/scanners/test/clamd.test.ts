// The clamd client against a real clamd (testkit's offline EICAR database).
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  attachmentMessage,
  type ClamdServer,
  EICAR,
  freePort,
  makeTempDir,
  startClamd,
  textMessage,
  zipOneFile,
} from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClamdClient, instreamRequest } from '../src/clamd.js';
import { parseClamdReply } from '../src/clamd-reply.js';
import { ONE_WRITE_BYTES } from '../src/exchange.js';
import { startRelay } from './relay.js';
import { startStub } from './silent-server.js';

let clamd: ClamdServer;
let client: ClamdClient;

beforeAll(async () => {
  clamd = await startClamd();
  client = new ClamdClient({ host: clamd.host, port: clamd.port });
});
afterAll(() => clamd?.stop());

describe('parseClamdReply', () => {
  it('reads clean, infected, limit and error replies', () => {
    expect(parseClamdReply('stream: OK\0')).toMatchObject({ status: 'clean' });
    expect(parseClamdReply('stream: Eicar-Test-Signature FOUND\0')).toMatchObject({
      status: 'infected',
      signature: 'Eicar-Test-Signature',
    });
    expect(parseClamdReply('stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0')).toMatchObject({
      status: 'limit',
      signature: 'Heuristics.Limits.Exceeded.MaxFileSize',
    });
    expect(parseClamdReply('INSTREAM size limit exceeded. ERROR\0')).toMatchObject({ status: 'limit' });
    expect(parseClamdReply("stream: Can't allocate memory ERROR\0")).toMatchObject({ status: 'error' });
    expect(parseClamdReply('')).toMatchObject({ status: 'error', detail: 'empty reply' });
  });
});

describe('instreamRequest', () => {
  it('frames the data in chunks of at most chunkBytes between zINSTREAM and the zero-length end', () => {
    const req = instreamRequest(Buffer.from('abcdefg'), 3);
    const len = (n: number) => Buffer.from([0, 0, 0, n]);
    expect(req).toEqual(
      Buffer.concat([
        Buffer.from('zINSTREAM\0'),
        len(3),
        Buffer.from('abc'),
        len(3),
        Buffer.from('def'),
        len(1),
        Buffer.from('g'),
        len(0),
      ]),
    );
    expect(instreamRequest(Buffer.alloc(0), 3)).toEqual(Buffer.concat([Buffer.from('zINSTREAM\0'), len(0)]));
  });
});

describe('ClamdClient against clamd', () => {
  it('answers zPING', async () => {
    expect(await client.ping()).toBe(true);
  });

  it('finds EICAR inline in a text body', async () => {
    const r = await client.scan(textMessage(`see below\n${EICAR}\n`));
    expect(r).toMatchObject({ status: 'infected', signature: expect.stringMatching(/EICAR/i) });
  });

  it('finds EICAR in a base64 attachment, streamed from a file in small chunks', async () => {
    const dir = makeTempDir('clamd-client');
    const file = join(dir, 'msg.eml');
    writeFileSync(file, attachmentMessage(Buffer.from(EICAR), 'eicar.com'));
    const chunky = new ClamdClient({ host: clamd.host, port: clamd.port, chunkBytes: 100 });
    const r = await chunky.scan(createReadStream(file, { highWaterMark: 333 }));
    expect(r).toMatchObject({ status: 'infected', signature: expect.stringMatching(/EICAR/i) });
  });

  it('finds EICAR inside a zip attachment (deflated and stored)', async () => {
    for (const method of ['deflate', 'store'] as const) {
      const zip = zipOneFile('readme.com', Buffer.from(EICAR), method);
      const r = await client.scan(attachmentMessage(zip, 'docs.zip', 'application/zip'));
      expect(r, method).toMatchObject({ status: 'infected' });
    }
  });

  it('passes a clean message', async () => {
    const r = await client.scan(textMessage('Hello Alice,\nlunch at noon?\n'.repeat(200)));
    expect(r).toEqual({ status: 'clean', raw: 'stream: OK' });
  });

  it('caps the bytes sent: a big clean message is a limit result, not clean', async () => {
    const capped = new ClamdClient({ host: clamd.host, port: clamd.port, maxBytes: 100_000 });
    const big = textMessage('x'.repeat(76).concat('\n').repeat(5_000));
    const r = await capped.scan(Readable.from([big.subarray(0, 150_000), big.subarray(150_000)]));
    expect(r).toMatchObject({ status: 'limit', truncated: true });
  });

  it('a message in memory above the one-write size goes out chunk by chunk and is still scanned', async () => {
    const big = textMessage(
      `${EICAR}\n${'z'
        .repeat(76)
        .concat('\n')
        .repeat(Math.ceil(ONE_WRITE_BYTES / 77) + 10)}`,
    );
    expect(big.length).toBeGreaterThan(ONE_WRITE_BYTES);
    expect(await client.scan(big)).toMatchObject({ status: 'infected' });
    // Below it, in one write: the same answer.
    expect(await client.scan(textMessage(`${EICAR}\n`))).toMatchObject({ status: 'infected' });
  });

  it('still reports a virus found in the scanned part of an over-cap message', async () => {
    const capped = new ClamdClient({ host: clamd.host, port: clamd.port, maxBytes: 100_000 });
    const big = textMessage(`${EICAR}\n${'y'.repeat(300_000)}`);
    expect(await capped.scan(big)).toMatchObject({ status: 'infected', truncated: true });
  });

  // Why the cap must stay below StreamMaxLength: past it clamd answers ERROR and
  // closes while we still write, and our write usually sees EPIPE before the
  // reply can be read. Either way the result is never "clean".
  it('clamd refusing more than StreamMaxLength is a limit or an error, never clean', async () => {
    const small = await startClamd({ streamMaxLength: '1M' });
    try {
      const unc = new ClamdClient({ host: small.host, port: small.port, maxBytes: 10 * 1024 * 1024 });
      const r = await unc.scan(Buffer.alloc(3 * 1024 * 1024, 0x61));
      expect(['limit', 'error']).toContain(r.status);
      // The session that saw the error is dropped; the next scan gets a fresh one.
      expect(await unc.scan(textMessage(`x ${EICAR}`))).toMatchObject({ status: 'infected' });
    } finally {
      await small.stop();
    }
  });

  it('runs many scans in parallel', async () => {
    const msgs = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? textMessage(`x ${EICAR}`) : textMessage(`hello ${i}`),
    );
    const rs = await Promise.all(msgs.map((m) => client.scan(m)));
    expect(rs.filter((r) => r.status === 'infected')).toHaveLength(10);
    expect(rs.filter((r) => r.status === 'clean')).toHaveLength(30);
  });
});

describe('ClamdClient sessions (IDSESSION)', () => {
  it('scans in a row share one connection', async () => {
    const relay = await startRelay(clamd);
    const c = new ClamdClient({ host: '127.0.0.1', port: relay.port });
    try {
      for (let i = 0; i < 6; i++) {
        const r = await c.scan(i % 2 ? textMessage(`x ${EICAR}`) : textMessage(`hello ${i}`));
        expect(r.status, `scan ${i}`).toBe(i % 2 ? 'infected' : 'clean');
      }
      expect(relay.accepted).toBe(1);
    } finally {
      c.close();
      await relay.close();
    }
  });

  it('a session the server dropped while idle is retried once on a fresh connection', async () => {
    const relay = await startRelay(clamd);
    const c = new ClamdClient({ host: '127.0.0.1', port: relay.port });
    try {
      expect(await c.scan(textMessage('first'))).toMatchObject({ status: 'clean' });
      relay.dropAtNextRequest();
      expect(await c.scan(textMessage(`second ${EICAR}`))).toMatchObject({ status: 'infected' });
      expect(relay.accepted).toBe(2);
      expect(await c.scan(textMessage('third'))).toMatchObject({ status: 'clean' });
      expect(relay.accepted).toBe(2);
    } finally {
      c.close();
      await relay.close();
    }
  });

  it('a streamed message goes on a fresh connection (it could not be sent twice)', async () => {
    const relay = await startRelay(clamd);
    const c = new ClamdClient({ host: '127.0.0.1', port: relay.port });
    try {
      expect(await c.scan(textMessage('first'))).toMatchObject({ status: 'clean' });
      relay.dropAtNextRequest();
      const r = await c.scan(Readable.from([textMessage(`streamed ${EICAR}`)]));
      expect(r).toMatchObject({ status: 'infected' });
      expect(relay.accepted).toBe(2);
    } finally {
      c.close();
      await relay.close();
    }
  });
});

describe('ClamdClient failure modes are values', () => {
  it('connection refused → error', async () => {
    const port = await freePort();
    const r = await new ClamdClient({ host: '127.0.0.1', port }).scan(textMessage('hi'));
    expect(r).toMatchObject({ status: 'error', detail: expect.stringMatching(/^refused/) });
    expect(await new ClamdClient({ host: '127.0.0.1', port }).ping()).toBe(false);
  });

  it('a server that accepts and never answers → error after the deadline', async () => {
    const stub = await startStub();
    try {
      const c = new ClamdClient({
        host: '127.0.0.1',
        port: stub.port,
        deadlines: { idleMs: 300, totalMs: 1_000 },
      });
      // The stub never answers: only the deadline can end the call.
      const r = await c.scan(textMessage('hi'));
      expect(r).toMatchObject({ status: 'error', detail: expect.stringMatching(/^timeout/) });
      expect(await c.ping()).toBe(false);
    } finally {
      await stub.close();
    }
  });

  it('a server that closes without a reply → error', async () => {
    const stub = await startStub((sock) => sock.end());
    try {
      const r = await new ClamdClient({ host: '127.0.0.1', port: stub.port }).scan(textMessage('hi'));
      expect(r.status).toBe('error');
    } finally {
      await stub.close();
    }
  });

  it('a source that fails (missing file) → error, no unhandled event', async () => {
    const r = await client.scan(createReadStream('/nonexistent/postamt/msg.eml'));
    expect(r).toMatchObject({ status: 'error', detail: expect.stringMatching(/^source/) });
    const port = await freePort();
    const r2 = await new ClamdClient({ host: '127.0.0.1', port }).scan(
      createReadStream('/nonexistent/postamt/msg.eml'),
    );
    expect(r2.status).toBe('error');
  });
});
