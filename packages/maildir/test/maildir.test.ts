import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import {
  deliver,
  folderDir,
  listMessages,
  MaildirError,
  parseName,
  releaseClaims,
  userMaildir,
} from '../src/index.js';

describe('layout', () => {
  it('maps users and folders onto Maildir++ paths', () => {
    expect(userMaildir('/d', 'alice@example.test')).toBe('/d/mail/example.test/alice');
    expect(folderDir('/m', 'INBOX')).toBe('/m');
    expect(folderDir('/m', 'inbox')).toBe('/m');
    expect(folderDir('/m', 'Junk')).toBe('/m/.Junk');
    expect(folderDir('/m', 'Archive.2026')).toBe('/m/.Archive.2026');
  });

  it('refuses names that could escape the tree', () => {
    for (const bad of ['..', 'a/b', 'a..b', '.hidden', 'x\u0000y', 'a\\b', 'x'.repeat(300)]) {
      expect(() => folderDir('/m', bad), bad).toThrow(MaildirError);
    }
    for (const bad of ['../x@example.test', 'a@..', '.a@example.test', 'a/b@example.test']) {
      expect(() => userMaildir('/d', bad), bad).toThrow(MaildirError);
    }
  });
});

describe('delivery', () => {
  it('writes via tmp/ into new/ with the size in the name', async () => {
    const dir = join(makeTempDir('md'), 'alice');
    const r = await deliver({
      dir,
      deliveryKey: 'ID1_abc',
      time: 1700000000,
      host: 'mx.example.test',
      source: Buffer.from('Subject: a\r\n\r\nbody\r\n'),
    });
    expect(r.created).toBe(true);
    expect(r.name).toBe('1700000000.ID1_abc.mx.example.test,S=20');
    expect(readdirSync(join(dir, 'new'))).toEqual([r.name]);
    // The tmp file is the delivery key's claim, kept until the caller's job is done.
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['1700000000.ID1_abc.mx.example.test']);
    expect(r.claim).toBe(join(dir, 'tmp', '1700000000.ID1_abc.mx.example.test'));
    releaseClaims([r.claim]);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(readFileSync(r.path, 'utf8')).toBe('Subject: a\r\n\r\nbody\r\n');
  });

  it('is idempotent: a retried delivery finds the first copy, also after a reader moved it to cur/', async () => {
    const dir = join(makeTempDir('md'), 'alice');
    const opts = { dir, deliveryKey: 'ID2_abc', time: 1700000000, host: 'h', source: Buffer.from('x') };
    const first = await deliver(opts);
    const again = await deliver({ ...opts, source: Readable.from([Buffer.from('x')]) });
    expect(again.created).toBe(false);
    renameSync(first.path, join(dir, 'cur', `${first.name}:2,S`));
    const third = await deliver(opts);
    expect(third.created).toBe(false);
    expect((await listMessages(dir)).map((m) => m.name)).toEqual([`${first.name}:2,S`]);
  });

  it('prepends a prefix and streams the source', async () => {
    const dir = join(makeTempDir('md'), 'alice');
    const r = await deliver({
      dir,
      deliveryKey: 'ID3_abc',
      time: 1,
      host: 'h',
      prefix: Buffer.from('X-Spam-Status: No\r\n'),
      source: Readable.from([Buffer.from('Subject: s\r\n'), Buffer.from('\r\nhi\r\n')]),
    });
    expect(readFileSync(r.path, 'utf8')).toBe('X-Spam-Status: No\r\nSubject: s\r\n\r\nhi\r\n');
    expect(r.size).toBe(37);
  });

  it('creates a folder only when it is missing, also a part removed after earlier deliveries', async () => {
    const dir = join(makeTempDir('md'), 'alice');
    const opts = { dir, time: 1700000000, host: 'h', source: Buffer.from('x') };
    await deliver({ ...opts, deliveryKey: 'F1' });
    expect(readdirSync(dir).sort()).toEqual(['cur', 'new', 'tmp']);
    // new/ gone (the link finds no directory), then tmp/ gone (the tmp file cannot be made).
    rmSync(join(dir, 'new'), { recursive: true });
    const second = await deliver({ ...opts, deliveryKey: 'F2' });
    expect(readdirSync(join(dir, 'new'))).toEqual([second.name]);
    rmSync(join(dir, 'tmp'), { recursive: true });
    const third = await deliver({ ...opts, deliveryKey: 'F3' });
    expect(third.created).toBe(true);
    expect(readdirSync(join(dir, 'new')).sort()).toEqual([second.name, third.name].sort());
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['1700000000.F3.h']);
  });
});

describe('listing', () => {
  it('parses flags and sizes', () => {
    expect(parseName('1.a.h,S=10:2,FS')).toEqual({ base: '1.a.h,S=10', flags: 'FS', size: 10 });
    expect(parseName('1.a.h')).toEqual({ base: '1.a.h', flags: '', size: null });
  });
});
