import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeMutf7,
  encodeMutf7,
  folderDir,
  MaildirError,
  MaildirStore,
  readUidList,
  SUMMARY_FILE,
  UIDLIST_FILE,
} from '../src/index.js';
import { deliverN, msg, tempRoot } from './helpers.js';

const store = (root = tempRoot(), extra = {}) => new MaildirStore({ root, host: 'test.host', ...extra });

describe('UIDs', () => {
  it('assigns ascending UIDs in arrival order and keeps them across opens', async () => {
    const s = store();
    await deliverN(s.root, 3);
    const a = await s.open('INBOX');
    expect(a.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect(a.messages.map((m) => m.base)).toEqual([
      '1700000000.K0.mx,S=22',
      '1700000001.K1.mx,S=22',
      '1700000002.K2.mx,S=22',
    ]);
    expect(a.uidNext).toBe(4);
    expect(a.messages[0]?.internalDate.getTime()).toBe(1700000000_000);
    expect(a.messages[0]?.recent).toBe(true);
    const b = await store(s.root).open('INBOX');
    expect(b.uidValidity).toBe(a.uidValidity);
    expect(b.messages.map((m) => [m.uid, m.base])).toEqual(a.messages.map((m) => [m.uid, m.base]));
  });

  it('never reuses a UID after expunge, and new mail gets the next one', async () => {
    const s = store();
    await deliverN(s.root, 3);
    await s.open('INBOX');
    expect(await s.expunge('INBOX', [3])).toEqual([3]);
    await deliverN(s.root, 1, 10);
    const snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([1, 2, 4]);
    expect(snap.uidNext).toBe(5);
  });

  it('rebuilds a lost or corrupt list with a new UIDVALIDITY', async () => {
    const s = store();
    await deliverN(s.root, 2);
    const before = await s.open('INBOX');
    writeFileSync(join(s.root, UIDLIST_FILE), 'postamt-uidlist 1 5 3\n1 x\n1 y\n'); // UIDs out of order
    const after = await store(s.root).open('INBOX');
    expect(after.uidValidity).toBeGreaterThan(before.uidValidity - 1);
    expect(after.uidValidity).not.toBe(5);
    expect(after.messages.map((m) => m.uid)).toEqual([1, 2]);
  });

  it('appends to the list, ignores a half-written last line and compacts after a crash', async () => {
    const s = store();
    await deliverN(s.root, 2);
    const first = await s.open('INBOX');
    await s.expunge('INBOX', [1]);
    await deliverN(s.root, 1, 10);
    await s.open('INBOX');
    const text = readFileSync(join(s.root, UIDLIST_FILE), 'utf8');
    expect(text.split('\n').slice(1)).toEqual([
      `1 ${first.messages[0]!.base}`,
      `2 ${first.messages[1]!.base}`,
      '-1',
      expect.stringMatching(/^3 1700000010\./),
      '',
    ]);
    // A writer died mid-append: readers ignore the torn line, UIDVALIDITY and UIDs stay.
    writeFileSync(join(s.root, UIDLIST_FILE), `${text}4 half-writ`);
    const again = await store(s.root).open('INBOX');
    expect([again.uidValidity, again.messages.map((m) => m.uid)]).toEqual([first.uidValidity, [2, 3]]);
    // The next change compacts instead of appending after the torn line.
    await deliverN(s.root, 1, 20);
    const last = await store(s.root).open('INBOX');
    expect(last.messages.map((m) => m.uid)).toEqual([2, 3, 4]);
    const lines = readFileSync(join(s.root, UIDLIST_FILE), 'utf8').split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^postamt-uidlist 2 \d+ 5$/);
  });

  it('finds a message again when another process renamed it after the snapshot', async () => {
    const s = store();
    await deliverN(s.root, 1);
    const snap = await s.open('INBOX');
    const m = snap.messages[0]!;
    renameSync(m.path, join(s.root, 'cur', `${m.base}:2,S`));
    expect((await s.readMessage('INBOX', m.uid)).toString()).toContain('Subject: m0');
    const flagged = await s.setFlags('INBOX', [m.uid], 'add', ['\\Flagged']);
    // The rename behind our back got modseq 2, our change 3.
    expect(flagged).toEqual([{ uid: m.uid, flags: ['\\Seen', '\\Flagged'], modseq: 3 }]);
    expect(readdirSync(join(s.root, 'cur'))).toEqual([`${m.base}:2,FS`]);
    expect(await s.expunge('INBOX', [m.uid])).toEqual([1]);
    await expect(s.readMessage('INBOX', m.uid)).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('flags and keywords', () => {
  it('maps IMAP flags to the :2, suffix, moving new/ → cur/', async () => {
    const s = store();
    await deliverN(s.root, 2);
    await s.open('INBOX');
    await s.setFlags('INBOX', [1, 2], 'add', ['\\seen', '\\Answered']);
    await s.setFlags('INBOX', [2], 'add', ['\\Deleted', '\\Draft', '$Forwarded', 'Work']);
    await s.setFlags('INBOX', [1], 'remove', ['\\Answered']);
    const snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.flags)).toEqual([
      ['\\Seen'],
      ['\\Draft', '\\Answered', '\\Seen', '\\Deleted', '$Forwarded', 'Work'],
    ]);
    expect(snap.messages.every((m) => !m.recent)).toBe(true);
    expect(readdirSync(join(s.root, 'cur')).sort()).toEqual([
      '1700000000.K0.mx,S=22:2,S',
      '1700000001.K1.mx,S=22:2,DRSTab',
    ]);
    expect(readFileSync(join(s.root, 'dovecot-keywords'), 'utf8')).toBe('0 $Forwarded\n1 Work\n');
    expect(snap.keywords).toEqual(['$Forwarded', 'Work']);
    await s.setFlags('INBOX', [2], 'set', ['work']);
    expect((await s.open('INBOX')).messages[1]?.flags).toEqual(['Work']);
  });

  it('refuses invalid flags and more than 26 keywords', async () => {
    const s = store();
    await deliverN(s.root, 1);
    await s.open('INBOX');
    for (const bad of ['\\Recent', '\\Bogus', 'has space', 'a(b', 'x]', '']) {
      await expect(s.setFlags('INBOX', [1], 'add', [bad]), bad).rejects.toBeInstanceOf(MaildirError);
    }
    const many = Array.from({ length: 26 }, (_, i) => `k${i}`);
    await s.setFlags('INBOX', [1], 'add', many);
    await expect(s.setFlags('INBOX', [1], 'add', ['one-more'])).rejects.toMatchObject({ code: 'limit' });
  });
});

describe('append, copy, move, expunge', () => {
  it('appends with flags and date, returns the UID', async () => {
    const s = store();
    const date = new Date('2024-05-06T07:08:09Z');
    const r = await s.append('INBOX', msg('appended'), { flags: ['\\Seen', 'Todo'], date });
    expect(r.uid).toBe(1);
    const m = (await s.open('INBOX')).messages[0]!;
    expect(m.flags).toEqual(['\\Seen', 'Todo']);
    expect(m.internalDate.getTime()).toBe(date.getTime());
    expect(m.size).toBe(msg('appended').length);
    expect(readdirSync(join(s.root, 'tmp'))).toEqual([]);
    await expect(s.append('NoSuch', msg('x'))).rejects.toMatchObject({ code: 'not-found' });
  });

  it('copies and moves with new UIDs in the target, keeping flags and internal date', async () => {
    const s = store();
    await deliverN(s.root, 3);
    await s.open('INBOX');
    await s.setFlags('INBOX', [2], 'add', ['\\Flagged', 'Important']);
    await s.createFolder('Work');
    const c = await s.copy('INBOX', [1, 2], 'Work');
    expect(c.pairs).toEqual([
      [1, 1],
      [2, 2],
    ]);
    const mv = await s.move('INBOX', [2, 3], 'Work');
    expect(mv.pairs).toEqual([
      [2, 3],
      [3, 4],
    ]);
    const work = await s.open('Work');
    expect(work.uidValidity).toBe(c.uidValidity);
    expect(work.messages.map((m) => [m.uid, m.flags])).toEqual([
      [1, []],
      [2, ['\\Flagged', 'Important']],
      [3, ['\\Flagged', 'Important']],
      [4, []],
    ]);
    expect(work.messages[3]?.internalDate.getTime()).toBe(1700000002_000);
    expect((await s.open('INBOX')).messages.map((m) => m.uid)).toEqual([1]);
    // Special-use folders are created on first use.
    expect((await s.copy('INBOX', [1], 'Trash')).pairs).toEqual([[1, 1]]);
  });
});

describe('folders', () => {
  it('lists INBOX and the special-use folders created on first use, subscribed', async () => {
    const s = store();
    const list = await s.listFolders();
    expect(list.map((f) => [f.name, f.specialUse ?? null, f.subscribed])).toEqual([
      ['INBOX', null, true],
      ['Archive', '\\Archive', true],
      ['Drafts', '\\Drafts', true],
      ['Junk', '\\Junk', true],
      ['Sent', '\\Sent', true],
      ['Trash', '\\Trash', true],
    ]);
    expect(existsSync(join(s.root, '.Junk', 'maildirfolder'))).toBe(true);
  });

  it('creates hierarchy, renames with children and keeps UIDs, deletes', async () => {
    const s = store();
    await s.createFolder('Projects.2026.Q1');
    await expect(s.createFolder('Projects')).rejects.toMatchObject({ code: 'exists' });
    await s.append('Projects.2026', msg('p'));
    const before = await s.open('Projects.2026');
    await s.subscribe('Projects.2026');
    await s.renameFolder('Projects', 'Old.Projects');
    const names = (await s.listFolders()).map((f) => f.name);
    expect(names).toContain('Old.Projects.2026.Q1');
    expect(names.filter((n) => n.startsWith('Projects'))).toEqual([]);
    const after = await s.open('Old.Projects.2026');
    expect([after.uidValidity, after.messages[0]?.uid]).toEqual([before.uidValidity, 1]);
    expect((await s.listFolders()).find((f) => f.name === 'Old.Projects.2026')?.subscribed).toBe(true);
    await expect(s.renameFolder('Old', 'Old.Sub')).rejects.toMatchObject({ code: 'invalid-name' });
    await expect(s.renameFolder('Nope', 'X')).rejects.toMatchObject({ code: 'not-found' });
    await expect(s.renameFolder('Old', 'Sent')).rejects.toMatchObject({ code: 'exists' });
    await s.deleteFolder('Old.Projects.2026.Q1');
    await s.deleteFolder('Old.Projects.2026');
    expect((await s.listFolders()).find((f) => f.name === 'Old.Projects')?.hasChildren).toBe(false);
    await expect(s.open('Old.Projects.2026')).rejects.toMatchObject({ code: 'not-found' });
    await expect(s.deleteFolder('INBOX')).rejects.toMatchObject({ code: 'invalid-name' });
    expect(readdirSync(s.root).filter((n) => n.startsWith('postamt-trash'))).toEqual([]);
  });

  it('renaming INBOX moves its messages and leaves it empty', async () => {
    const s = store();
    await deliverN(s.root, 2);
    await s.renameFolder('INBOX', 'Before 2026');
    expect((await s.open('INBOX')).messages).toEqual([]);
    expect((await s.open('Before 2026')).messages.length).toBe(2);
  });

  it('stores Unicode names in modified UTF-7, like Dovecot', async () => {
    const s = store();
    await s.createFolder('Entwürfe & Ideen');
    expect(existsSync(join(s.root, '.Entw&APw-rfe &- Ideen'))).toBe(true);
    expect((await s.listFolders()).map((f) => f.name)).toContain('Entwürfe & Ideen');
    expect(encodeMutf7('台北')).toBe('&U,BTFw-');
    expect(decodeMutf7('&U,BTFw-')).toBe('台北');
  });

  it('refuses hostile names', async () => {
    const s = store();
    const hostile = [
      '..',
      'a..b',
      '.x',
      'x.',
      '../etc',
      'a/b',
      'a\\b',
      'nul\u0000x',
      'bell\u0007',
      'x'.repeat(300),
      'é'.repeat(80),
      '\ud800',
    ];
    for (const name of hostile) {
      await expect(s.createFolder(name), JSON.stringify(name)).rejects.toMatchObject({
        code: 'invalid-name',
      });
      await expect(s.open(name), JSON.stringify(name)).rejects.toMatchObject({ code: 'invalid-name' });
      await expect(s.renameFolder('Sent', name)).rejects.toBeInstanceOf(MaildirError);
      await expect(s.subscribe(name)).rejects.toMatchObject({ code: 'invalid-name' });
    }
    // Modified UTF-7 that is not canonical or not valid is refused at the wire boundary.
    for (const wire of ['&', '&Jjo', '&AGE-', '&2D0-', '&U,BTFw-&U,BTFw-', 'a\u0080', '&Jjo!-']) {
      expect(decodeMutf7(wire), wire).toBeNull();
    }
    // A hostile directory someone else created is not listed.
    mkdirSync(join(s.root, '.&Jjo'), { recursive: true });
    expect((await s.listFolders()).map((f) => f.name)).not.toContain('&Jjo');
    expect(() => folderDir(s.root, '..')).toThrow(MaildirError);
  });
});

describe('index', () => {
  it('caches sizes, dates and indexer summaries, and drops them with the file', async () => {
    let calls = 0;
    const root = tempRoot();
    const indexer = (b: Buffer) => {
      calls++;
      return { subject: /Subject: (.*)\r\n/.exec(b.toString())?.[1] };
    };
    const s = store(root, { indexer });
    await deliverN(root, 2);
    await s.open('INBOX');
    expect(await s.summaries('INBOX', [1, 2])).toEqual(
      new Map([
        [1, { subject: 'm0' }],
        [2, { subject: 'm1' }],
      ]),
    );
    const other = store(root, { indexer });
    await other.open('INBOX');
    expect((await other.summaries('INBOX', [2])).get(2)).toEqual({ subject: 'm1' });
    expect(calls).toBe(2);
    await other.expunge('INBOX', [2]);
    await s.open('INBOX');
    // Appended line by line; the expunged message's entry is gone from memory and from the next compaction.
    const lines = readFileSync(join(root, SUMMARY_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Files are indexed a few at a time: the lines come in the order the reads finish.
    expect(
      lines
        .filter((l) => l.length === 4)
        .map((l) => l[0])
        .sort(),
    ).toEqual(['1700000000.K0.mx,S=22', '1700000001.K1.mx,S=22']);
    expect((await store(root, { indexer }).summaries('INBOX', [1, 2])).size).toBe(1);
    expect(calls).toBe(2);
  });

  it('stats files whose names carry no size or date, once', async () => {
    const s = store();
    await s.open('INBOX');
    writeFileSync(join(s.root, 'cur', 'foreign-name:2,S'), 'Subject: x\r\n\r\n');
    const m = (await s.open('INBOX')).messages[0]!;
    expect([m.size, m.flags]).toEqual([14, ['\\Seen']]);
    expect(m.internalDate.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const list = await readUidList(s.root);
    expect([...(list.list?.uids.keys() ?? [])]).toEqual(['foreign-name']);
  });
});
