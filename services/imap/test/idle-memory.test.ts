// Many idle IDLE connections (issue 8): IMAP_IDLE_CONNECTIONS=<n> holds n
// authenticated sessions in IDLE on one server, delivers one message, and
// checks that every one of them hears `* EXISTS` within a second; it prints
// the memory each connection costs. IMAP_IDLE_MESSAGES=<m> (default 1) puts
// m messages in the INBOX first: sessions share the folder's state, so the
// cost per connection should not grow with m. Off by default (it takes a
// while and needs n file descriptors twice over: clients run in the same
// process). Heap is the server's JavaScript state plus the test's small
// clients; RSS also counts socket buffers of both ends, so both are upper
// bounds. Run with NODE_OPTIONS=--expose-gc for heap figures without garbage.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

const N = Number(process.env.IMAP_IDLE_CONNECTIONS ?? 0);
const M = Math.max(1, Number(process.env.IMAP_IDLE_MESSAGES ?? 1));

/** m - 1 seen messages written straight into alice's cur/ (no delivery per message: 100,000 stay quick). */
function fillInbox(dataDir: string, m: number): void {
  const cur = join(dataDir, 'mail', 'example.test', 'alice', 'cur');
  mkdirSync(cur, { recursive: true });
  for (let i = 1; i < m; i++) {
    const body = `Subject: filler ${i}\r\n\r\nx\r\n`;
    writeFileSync(join(cur, `${1_600_000_000 + i}.M${i}P1.fill,S=${body.length}:2,S`), body);
  }
}

let env: TestEnv;
beforeAll(async () => {
  if (N > 0) env = await startEnv({ idleTimeoutMs: 3_600_000 }, { maxConnections: N + 10 });
}, 60_000);
afterAll(async () => {
  await env?.stop();
}, 120_000);

/** A bare client: the received text, and a way to wait for a pattern. */
function client(
  port: number,
): Promise<{ s: Socket; seen: () => string; until: (re: RegExp) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    let wake: (() => void) | null = null;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      wake?.();
    });
    s.once('error', reject);
    const until = async (re: RegExp) => {
      while (!re.test(text)) await new Promise<void>((r) => (wake = r));
    };
    s.once('connect', () => resolve({ s, seen: () => text, until }));
  });
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

describe.skipIf(N === 0)(`${N} idle connections`, () => {
  it('hold IDLE cheaply and all hear a new message within a second', async () => {
    fillInbox(env.dataDir, M);
    await env.put('alice', 'Subject: first\r\n\r\nx\r\n');
    // One session first: the folder's own state (read once, shared) is not a per-connection cost.
    const warm = await client(env.server.port);
    await warm.until(/^\* OK/);
    warm.s.write('a LOGIN alice@example.test secret\r\nb SELECT INBOX\r\n');
    await warm.until(/\r\nb OK/);
    gc();
    const before = process.memoryUsage();
    const clients: Awaited<ReturnType<typeof client>>[] = [];
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, N - i) }, async () => {
          const c = await client(env.server.port);
          await c.until(/^\* OK/);
          c.s.write('a LOGIN alice@example.test secret\r\nb SELECT INBOX\r\nc IDLE\r\n');
          await c.until(/\r\n\+ idling\r\n/);
          return c;
        }),
      );
      clients.push(...batch);
    }
    gc();
    const after = process.memoryUsage();
    const perConn = (k: 'rss' | 'heapUsed') => (after[k] - before[k]) / N / 1024;
    console.log(
      `${N} IDLE connections on a ${M}-message INBOX: ${perConn('heapUsed').toFixed(1)} KiB heap and ${perConn('rss').toFixed(1)} KiB RSS per connection (server and client in one process)`,
    );
    const t0 = Date.now();
    await env.put('alice', 'Subject: second\r\n\r\ny\r\n');
    const exists = new RegExp(`\\* ${M + 1} EXISTS\\r\\n`);
    await Promise.all(clients.map((c) => c.until(exists)));
    const ms = Date.now() - t0;
    console.log(`new-mail event reached all ${N} in ${ms} ms`);
    expect(ms).toBeLessThan(1000 + N); // a second, plus slack for a loaded test machine
    for (const c of [warm, ...clients]) c.s.destroy();
  }, 600_000);
});
