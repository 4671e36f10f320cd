import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { isSpoolId, newSpoolId, Spool, SpoolError, spoolIdTime } from '../src/index.js';

const envelope = {
  receivedAt: '2026-11-28T07:00:00.000Z',
  mailFrom: 'bob@example.org',
  rcptTo: [{ address: 'alice@example.test' }],
  source: 'mx' as const,
  client: { ip: '192.0.2.1', helo: 'mail.example.org' },
  params: {},
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('spool ids', () => {
  it('sort by time and are safe as file names', () => {
    const a = newSpoolId(1_000_000);
    const b = newSpoolId(2_000_000);
    expect(isSpoolId(a)).toBe(true);
    expect(a < b).toBe(true);
    expect(spoolIdTime(a)).toBe(1_000_000);
    expect(a).toMatch(/^[0-9A-Z]{26}$/);
    expect(isSpoolId('../../etc/passwd')).toBe(false);
  });
});

describe('spool', () => {
  it('commits a message atomically and reads back the envelope and the exact bytes', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const body = Buffer.from('Subject: x\r\n\r\nbinary \u0000\xff bytes\r\n.\r\n', 'latin1');
    const w = await spool.create(envelope);
    await w.write(body.subarray(0, 5));
    expect(await spool.list()).toEqual([]); // not visible before commit
    await w.write(body.subarray(5));
    await w.commit();
    expect(await spool.list()).toEqual([w.id]);
    expect(readdirSync(spool.tmpDir)).toEqual([]);
    const m = await spool.openMessage(w.id);
    expect(m.envelope).toEqual({ ...envelope, id: w.id });
    expect(m.size).toBe(body.length);
    expect((await readAll(m.stream())).equals(body)).toBe(true);
  });

  for (const [inlineMetadata, commitInPlace] of [
    [false, false],
    [true, false],
    [true, true],
  ]) {
    it(`commit(last) writes the final bytes, whole or after earlier writes (metadata calls ${inlineMetadata ? 'inline' : 'in the pool'}, ${commitInPlace ? 'whole ones in place' : 'all through tmp/'})`, async () => {
      const spool = new Spool(makeTempDir('spool'), { inlineMetadata, commitInPlace });
      await spool.init();
      const body = Buffer.from('Subject: y\r\n\r\nline one\r\nline two\r\n', 'latin1');
      // The whole message with the commit (the one synced write of a typical message).
      const whole = await spool.create(envelope);
      await whole.commit(body);
      expect(whole.size).toBe(body.length);
      // Streamed in part, the rest with the commit.
      const parts = await spool.create(envelope);
      await parts.write(body.subarray(0, 7));
      await parts.commit(body.subarray(7));
      expect(parts.size).toBe(body.length);
      // Aborted after a write.
      const gone = await spool.create(envelope);
      await gone.write(body);
      await gone.abort();
      expect(await spool.list()).toEqual([whole.id, parts.id].sort());
      expect(readdirSync(spool.tmpDir)).toEqual([]);
      for (const id of [whole.id, parts.id]) {
        const m = await spool.openMessage(id);
        expect(m.envelope.id).toBe(id);
        expect((await readAll(m.stream())).equals(body)).toBe(true);
      }
    });
  }

  it('a whole message is one file written in place, its head sealed with length and CRC; torn copies fail isComplete', async () => {
    const spool = new Spool(makeTempDir('spool'), { commitInPlace: true });
    await spool.init();
    const body = Buffer.from('Subject: z\r\n\r\nsome text\r\n', 'latin1');
    const w = await spool.create(envelope);
    expect(await spool.list()).toEqual([]); // nothing on disk before the commit
    await w.commit(body);
    expect(readdirSync(spool.tmpDir)).toEqual([]);
    const file = readFileSync(spool.pathOf(w.id));
    const head = file.subarray(0, file.indexOf(10)).toString('latin1').split(' ');
    expect(head[0]).toBe('POSTAMT-SPOOL/1');
    expect(Number(head[2])).toBe(body.length);
    expect(head[3]).toMatch(/^[0-9a-f]+$/);
    expect(await spool.isComplete(w.id)).toBe(true);
    expect((await readAll((await spool.openMessage(w.id)).stream())).equals(body)).toBe(true);
    // A streamed message (renamed into place) has no seal and is whole by construction.
    const streamed = await spool.put(envelope, Readable.from([body]));
    expect(await spool.isComplete(streamed)).toBe(true);
    // Short (crash before all bytes reached the disk), or the right size with other bytes.
    writeFileSync(spool.pathOf(w.id), file.subarray(0, file.length - 3));
    expect(await spool.isComplete(w.id)).toBe(false);
    const torn = Buffer.from(file);
    torn[torn.length - 5] = 0;
    writeFileSync(spool.pathOf(w.id), torn);
    expect(await spool.isComplete(w.id)).toBe(false);
    writeFileSync(spool.pathOf(w.id), file);
    expect(await spool.isComplete(w.id)).toBe(true);
    expect(await spool.isComplete(newSpoolId())).toBe(false);
  });

  it('abort leaves nothing behind', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const w = await spool.create(envelope);
    await w.write(Buffer.from('partial'));
    await w.abort();
    await w.abort();
    expect(await spool.list()).toEqual([]);
    expect(readdirSync(spool.tmpDir)).toEqual([]);
  });

  it('close() lets go of the directory kept open for fsyncs; a later commit opens it again', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const openOnDir = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === spool.dir;
        } catch {
          return false; // closed since the listing
        }
      }).length;
    // Commits through tmp/ and rename fsync the directory; whole ones in place need none.
    await new Spool(spool.dir.slice(0, -'/spool'.length), { commitInPlace: true }).put(
      envelope,
      Buffer.from('whole'),
    );
    expect(openOnDir()).toBe(0);
    await spool.put(envelope, Readable.from([Buffer.from('one')]));
    expect(openOnDir()).toBe(1);
    await spool.close();
    expect(openOnDir()).toBe(0);
    const id = await spool.put(envelope, Readable.from([Buffer.from('two')]));
    expect((await readAll((await spool.openMessage(id)).stream())).toString()).toBe('two');
    await spool.close();
    expect(openOnDir()).toBe(0);
  });

  it('put() stores a stream; remove() is idempotent', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const id = await spool.put(envelope, Readable.from([Buffer.from('a'), Buffer.from('b')]));
    expect((await readAll((await spool.openMessage(id)).stream())).toString()).toBe('ab');
    await spool.remove(id);
    await spool.remove(id);
    expect(await spool.exists(id)).toBe(false);
    await expect(spool.read(id)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses a corrupt spool file with a distinct error', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const id = newSpoolId();
    writeFileSync(spool.pathOf(id), 'garbage without header');
    await expect(spool.read(id)).rejects.toBeInstanceOf(SpoolError);
    await expect(spool.read(id)).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('removes partial files of dead writers on this host, keeps live ones', async () => {
    const spool = new Spool(makeTempDir('spool'));
    await spool.init();
    const live = await spool.create(envelope);
    await live.write(Buffer.from('being streamed')); // a streamed message lives in tmp/ until its commit
    const liveName = readdirSync(spool.tmpDir)[0] as string;
    const host = liveName.split('.')[1] as string;
    writeFileSync(join(spool.tmpDir, `${newSpoolId()}.${host}.999999`), 'dead writer');
    const removed = await spool.removeStaleTmp();
    expect(removed).toHaveLength(1);
    expect(readdirSync(spool.tmpDir)).toEqual([liveName]);
    await live.abort();
  });

  it('starts every file with a readable header', async () => {
    const spool = new Spool(makeTempDir('spool'), { commitInPlace: true });
    await spool.init();
    const whole = await spool.put(envelope, Buffer.from('hi'));
    expect(readFileSync(spool.pathOf(whole), 'utf8')).toMatch(/^POSTAMT-SPOOL\/1 \d+ 2 [0-9a-f]+\n\{"id":"/);
    const streamed = await spool.put(envelope, Readable.from([Buffer.from('hi')]));
    expect(readFileSync(spool.pathOf(streamed), 'utf8')).toMatch(/^POSTAMT-SPOOL\/1 \d+\n\{"id":"/);
  });
});
