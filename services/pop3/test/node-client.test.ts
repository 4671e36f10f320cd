// Interoperability with a Node POP3 client: bench/lib/pop3-client.mjs (the one
// the bench uses against Postamt and Dovecot), over real sockets, pipelining
// RETR. The corpus round trip: every message of the MIME test corpus is
// delivered, retrieved, un-stuffed by the client, and compared byte for byte
// with the file after the conversion retr.ts defines — bare LF → CRLF, a
// missing final line end added, nothing else changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error — plain ESM without type declarations, shared with the bench.
import { Pop3Client } from '../../../bench/lib/pop3-client.mjs';
import { moveToCur, startEnv, type TestEnv } from './env.js';

const corpusDir = resolve(import.meta.dirname, '../../../packages/mime/test/fixtures/corpus/messages');
const corpus = readdirSync(corpusDir)
  .filter((n) => n.endsWith('.eml'))
  .sort();

/** The wire form of a file, un-stuffed (see retr.ts). */
export function wireForm(raw: Buffer): Buffer {
  let text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\n')) text += text.endsWith('\r') ? '\n' : '\r\n';
  return Buffer.from(text, 'latin1');
}

interface Client {
  login(user: string, password: string): Promise<string>;
  stat(): Promise<{ count: number; size: number }>;
  list(): Promise<{ number: number; size: number }[]>;
  uidl(): Promise<{ number: number; uid: string }[]>;
  retr(n: number): Promise<Buffer>;
  retrAll(
    numbers: number[],
    opts: { window?: number; keep?: boolean; onMessage?: (n: number, body: Buffer) => void },
  ): Promise<{ messages: number; octets: number }>;
  dele(n: number): Promise<string>;
  quit(): Promise<string>;
}

const connect = (port: number, tls = false): Promise<Client> => Pop3Client.connect({ port, tls });

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('Node POP3 client', () => {
  it('round-trips every corpus message byte-exact, pipelined, then deletes them all', async () => {
    expect(corpus.length).toBeGreaterThan(100);
    const expected: Buffer[] = [];
    for (const [i, name] of corpus.entries()) {
      const raw = readFileSync(join(corpusDir, name));
      await env.put('bob', raw, `corpus${String(i).padStart(4, '0')}`);
      expected.push(wireForm(raw));
    }

    const c = await connect(env.server.port);
    expect(await c.login('bob@example.test', 'pass word')).toMatch(/^\+OK Logged in/);
    const stat = await c.stat();
    expect(stat.count).toBe(corpus.length);
    expect(stat.size).toBe(expected.reduce((s, b) => s + b.length, 0));
    // Delivery names start with the time, so the listing is in corpus order.
    expect((await c.list()).map((l) => l.size)).toEqual(expected.map((b) => b.length));
    const uids = await c.uidl();
    expect(new Set(uids.map((u) => u.uid)).size).toBe(corpus.length);

    const got = new Map<number, Buffer>();
    const numbers = expected.map((_, i) => i + 1);
    const res = await c.retrAll(numbers, { window: 16, keep: true, onMessage: (n, b) => got.set(n, b) });
    expect(res.messages).toBe(corpus.length);
    expect(res.octets).toBe(stat.size);
    const mismatched = numbers.filter((n) => !got.get(n)?.equals(expected[n - 1] as Buffer));
    expect(mismatched.map((n) => corpus[n - 1])).toEqual([]);

    for (const n of numbers) expect(await c.dele(n)).toMatch(/^\+OK/);
    expect((await c.stat()).count).toBe(0);
    expect(await c.quit()).toMatch(/^\+OK/);
    expect(env.files('bob', 'new')).toEqual([]);
    expect(env.files('bob', 'cur')).toEqual([]);
  });

  it('retrieves over implicit TLS, and a drop without QUIT keeps the messages', async () => {
    const text = 'Subject: tls\r\n\r\n.\r\n..\r\nend\r\n';
    await env.put('alice', text);
    const c = await connect(env.server.tlsPort as number, true);
    expect(await c.login('alice@example.test', 'secret')).toMatch(/^\+OK/);
    expect((await c.retr(1)).toString('latin1')).toBe(text);
    expect(await c.dele(1)).toMatch(/^\+OK/);
    (c as unknown as { destroy(): void }).destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(env.files('alice', 'new')).toHaveLength(1);
  });

  it('QUIT adds the seen flag where missing and leaves seen messages alone', async () => {
    const seen = moveToCur(env, 'bob', await env.put('bob', 'Subject: a\r\n\r\nx\r\n'), 'FS');
    const flagged = moveToCur(env, 'bob', await env.put('bob', 'Subject: b\r\n\r\ny\r\n'), 'F');
    const fresh = await env.put('bob', 'Subject: c\r\n\r\nz\r\n');
    const c = await connect(env.server.port);
    await c.login('bob@example.test', 'pass word');
    await c.retrAll([1, 2, 3], {});
    await c.quit();
    expect(env.files('bob', 'new')).toEqual([]);
    expect(env.files('bob', 'cur')).toEqual([seen, flagged.replace(/F$/, 'FS'), `${fresh}:2,S`].sort());
  });
});
