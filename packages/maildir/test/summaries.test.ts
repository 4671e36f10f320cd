// Summaries written where the message is written (delivery, APPEND, COPY,
// MOVE), so the reader never parses a message file for them; and DELETE and
// RENAME of folders with children (RFC 3501 §6.3.4, §6.3.5). The indexer here is a counting
// stand-in for @postamt/mime's summarizeMessage (tested with the real one in
// services/imap/test/summaries.test.ts): what matters is who calls it when.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliver, MaildirStore, SUMMARY_FILE } from '../src/index.js';
import { msg, tempRoot } from './helpers.js';

function counting() {
  const calls: string[] = [];
  const indexer = (bytes: Buffer) => {
    const subject = /^Subject: (.*)\r$/m.exec(bytes.toString('latin1'))?.[1] ?? null;
    calls.push(subject ?? '');
    return { subject, length: bytes.length };
  };
  return { calls, indexer };
}

const summaryLines = (dir: string): unknown[][] =>
  readFileSync(join(dir, SUMMARY_FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown[]);

describe('summaries at delivery', () => {
  it('deliver() writes the summary line; the store serves it without reading the file', async () => {
    const root = tempRoot();
    const atDelivery = counting();
    const d = await deliver({
      dir: root,
      deliveryKey: 'K1',
      time: 1_700_000_000,
      host: 'mx',
      prefix: Buffer.from('X-Spam-Flag: NO\r\n'),
      source: msg('delivered'),
      indexer: atDelivery.indexer,
    });
    expect(atDelivery.calls).toEqual(['delivered']);
    expect(summaryLines(root)).toEqual([
      [d.name, d.size, 1_700_000_000_000, { subject: 'delivered', length: d.size }],
    ]);
    // Replace the bytes (same size, so the entry is still valid): a reader that
    // parsed the file would now see another subject.
    writeFileSync(
      d.path,
      Buffer.from(readFileSync(d.path, 'latin1').replace('delivered', 'REPLACED!'), 'latin1'),
    );
    const reader = counting();
    const s = new MaildirStore({ root, host: 'imap', indexer: reader.indexer });
    await s.open('INBOX');
    expect(await s.summaries('INBOX', [1])).toEqual(new Map([[1, { subject: 'delivered', length: d.size }]]));
    expect(reader.calls).toEqual([]);
    // A retry of the same delivery finds the earlier copy and writes nothing.
    await deliver({
      dir: root,
      deliveryKey: 'K1',
      time: 1_700_000_000,
      host: 'mx',
      source: msg('delivered'),
    });
    expect(summaryLines(root)).toHaveLength(1);
  });

  it('leaves messages over maxIndexBytes, and ones delivered without an indexer, to the reader', async () => {
    const root = tempRoot();
    const atDelivery = counting();
    await deliver({
      dir: root,
      deliveryKey: 'big',
      time: 1_700_000_001,
      host: 'mx',
      source: msg('big', 'x'.repeat(1000)),
      indexer: atDelivery.indexer,
      maxIndexBytes: 100,
    });
    await deliver({ dir: root, deliveryKey: 'plain', time: 1_700_000_002, host: 'mx', source: msg('plain') });
    expect(atDelivery.calls).toEqual([]);
    const reader = counting();
    const s = new MaildirStore({ root, host: 'imap', indexer: reader.indexer });
    await s.open('INBOX');
    const got = await s.summaries('INBOX', [1, 2]);
    expect([...got.values()].map((v) => (v as { subject: string }).subject)).toEqual(['big', 'plain']);
    expect(reader.calls.sort()).toEqual(['big', 'plain']);
  });

  it('APPEND stores the summary; COPY and MOVE carry a known one to the target', async () => {
    const root = tempRoot();
    const c = counting();
    const s = new MaildirStore({ root, host: 'imap', indexer: c.indexer });
    await s.createFolder('Work');
    await s.createFolder('Done');
    await s.append('Work', msg('appended'));
    expect(c.calls).toEqual(['appended']);
    expect(summaryLines(join(root, '.Work'))).toHaveLength(1);
    // A second store (another IMAP process) finds it without parsing.
    const other = counting();
    const s2 = new MaildirStore({ root, host: 'imap', indexer: other.indexer });
    expect((await s2.summaries('Work', [1])).get(1)).toMatchObject({ subject: 'appended' });
    await s2.copy('Work', [1], 'INBOX');
    await s2.move('Work', [1], 'Done');
    expect(summaryLines(root)).toHaveLength(1);
    expect(summaryLines(join(root, '.Done'))).toHaveLength(1);
    const third = counting();
    const s3 = new MaildirStore({ root, host: 'imap', indexer: third.indexer });
    expect((await s3.summaries('INBOX', [1])).get(1)).toMatchObject({ subject: 'appended' });
    expect((await s3.summaries('Done', [1])).get(1)).toMatchObject({ subject: 'appended' });
    expect([other.calls, third.calls]).toEqual([[], []]);
    expect(c.calls).toEqual(['appended']);
  });
});

describe('DELETE of a folder with children (RFC 3501 §6.3.4)', () => {
  it('removes the messages, keeps the children, lists the name \\Noselect until they are gone', async () => {
    const s = new MaildirStore({ root: tempRoot(), host: 'imap' });
    await s.createFolder('Projects.2024.Q1');
    await s.append('Projects', msg('parent'));
    await s.append('Projects.2024', msg('child'));
    await s.deleteFolder('Projects');
    const byName = new Map((await s.listFolders()).map((f) => [f.name, f]));
    expect(byName.get('Projects')).toMatchObject({ noselect: true, hasChildren: true });
    expect(byName.get('Projects.2024')).toMatchObject({ hasChildren: true });
    expect(byName.get('Projects.2024')?.noselect).toBeUndefined();
    expect((await s.open('Projects.2024')).messages).toHaveLength(1);
    await expect(s.open('Projects')).rejects.toMatchObject({ code: 'not-found' });
    await expect(s.append('Projects', msg('x'))).rejects.toMatchObject({ code: 'not-found' });
    // A \Noselect name with inferiors cannot be deleted again.
    await expect(s.deleteFolder('Projects')).rejects.toMatchObject({ code: 'has-children' });
    // Deleting a middle level keeps Q1; both ancestors are \Noselect now.
    await s.deleteFolder('Projects.2024');
    const mid = new Map((await s.listFolders()).map((f) => [f.name, f]));
    expect(mid.get('Projects.2024')).toMatchObject({ noselect: true, hasChildren: true });
    expect(mid.get('Projects.2024.Q1')).toMatchObject({ hasChildren: false });
    await s.deleteFolder('Projects.2024.Q1');
    const names = (await s.listFolders()).map((f) => f.name);
    expect(names.filter((n) => n.startsWith('Projects'))).toEqual([]);
    await expect(s.deleteFolder('Projects')).rejects.toMatchObject({ code: 'not-found' });
    // The name can be created again, as a real folder.
    await s.createFolder('Projects');
    expect((await s.open('Projects')).messages).toEqual([]);
  });
});

describe('RENAME around \\Noselect names (RFC 3501 §6.3.5)', () => {
  it('renames a \\Noselect name by renaming its children; refuses targets that exist, before moving anything', async () => {
    const s = new MaildirStore({ root: tempRoot(), host: 'imap' });
    await s.createFolder('A.x');
    await s.append('A.x', msg('in x'));
    await s.deleteFolder('A');
    await s.createFolder('B.x');
    await expect(s.renameFolder('A', 'B')).rejects.toMatchObject({ code: 'exists' });
    await s.deleteFolder('B.x');
    await s.deleteFolder('B');
    // B.x is gone, so B is gone; a child target that exists still blocks.
    await s.createFolder('C.x');
    await s.deleteFolder('C');
    await expect(s.renameFolder('A', 'C')).rejects.toMatchObject({ code: 'exists' });
    expect((await s.open('A.x')).messages).toHaveLength(1);
    await s.renameFolder('A', 'B');
    const byName = new Map((await s.listFolders()).map((f) => [f.name, f]));
    expect(byName.has('A')).toBe(false);
    expect(byName.get('B')).toMatchObject({ noselect: true, hasChildren: true });
    expect((await s.open('B.x')).messages).toHaveLength(1);
    await expect(s.renameFolder('Nope', 'D')).rejects.toMatchObject({ code: 'not-found' });
  });
});
