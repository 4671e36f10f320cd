// A spooled message read once into memory, or streamed when it is larger than
// the cap: both give the same header and the same body bytes.
import { buffer } from 'node:stream/consumers';
import { Spool } from '@postamt/queue';
import { attachmentMessage, makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { bytesFrom, headerOf, readOnce } from '../src/message-bytes.js';

describe('readOnce', () => {
  it('holds a small message, streams a big one, and both read the same', async () => {
    const spool = new Spool(makeTempDir('message-bytes'));
    await spool.init();
    const body = attachmentMessage(Buffer.alloc(200_000, 7), 'data.bin');
    const id = await spool.put(
      {
        receivedAt: new Date().toISOString(),
        mailFrom: 'a@example.org',
        rcptTo: [{ address: 'b@example.test' }],
        source: 'mx',
        client: { ip: '192.0.2.1' },
        params: {},
      },
      body,
    );
    const held = await readOnce(await spool.openMessage(id));
    // How the filter reads it: the spool file in one call, the message its tail.
    const whole = await readOnce(await spool.openMessage(id), { path: spool.pathOf(id) });
    const streamed = await readOnce(await spool.openMessage(id), { max: 100_000 });
    expect(held.bytes?.equals(body)).toBe(true);
    expect(whole.bytes?.equals(body)).toBe(true);
    expect(streamed.bytes).toBeNull();
    const headerEnd = body.indexOf('\r\n\r\n') + 4;
    for (const m of [held, whole, streamed]) {
      expect(m.size).toBe(body.length);
      expect((await buffer(m.stream())).equals(body)).toBe(true);
      expect((await headerOf(m))?.equals(body.subarray(0, headerEnd))).toBe(true);
      expect((await buffer(bytesFrom(m, headerEnd))).equals(body.subarray(headerEnd))).toBe(true);
      // Every call is a fresh stream from the start.
      expect((await buffer(m.stream())).length).toBe(body.length);
    }
  });
});
