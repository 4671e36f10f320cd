// MailStore on the Maildir++ volume: INBOX at mail/<domain>/<user>/, folders
// as `.Name` beside it (ARCHITECTURE.md). Message files are never rewritten:
// flags change by rename, copies are hard links, appends go tmp/ → new/ via
// @postamt/maildir's deliver. UIDs come from the per-folder list (uidlist.ts).
//
// Interim: change notification watches the folder's new/ and cur/ with
// fs.watch (same machine only); the Redis event feed of @postamt/maildir
// replaces it when that API lands.
import { randomBytes } from 'node:crypto';
import { watch as fsWatch } from 'node:fs';
import {
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { decodeMutf7, deliver, ensureMaildir, folderDir, MaildirError, userMaildir } from '@postamt/maildir';
import { flagsToLetters, isSystemFlag, lettersToFlags } from './maildir-flags.js';
import {
  type CopyResult,
  type FolderInfo,
  type FolderStatus,
  type MailboxSnapshot,
  type MailStore,
  type MessageMeta,
  StoreError,
  type StoreProvider,
} from './store.js';
import { type Listed, withUidList } from './uidlist.js';

const DEFAULT_SPECIAL: Record<string, string> = {
  Drafts: '\\Drafts',
  Sent: '\\Sent',
  Junk: '\\Junk',
  Trash: '\\Trash',
  Archive: '\\Archive',
};
const SPECIAL_FILE = 'postamt-special-use';
const SUBSCRIPTIONS = 'subscriptions';

function toStoreError(err: unknown): never {
  if (err instanceof StoreError) throw err;
  if (err instanceof MaildirError)
    throw new StoreError(err.code === 'invalid-name' ? 'invalid-name' : 'io', err.message);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw new StoreError('nonexistent', 'no such folder');
  if (code === 'EDQUOT' || code === 'ENOSPC') throw new StoreError('over-quota', 'no space');
  throw new StoreError('io', (err as Error).message);
}

function meta(e: Listed): MessageMeta {
  return {
    uid: e.uid,
    flags: [...lettersToFlags(e.file.flags), ...e.keywords],
    size: e.file.size,
    internalDate: new Date(0),
  };
}

export class MaildirStore implements MailStore {
  constructor(
    private readonly root: string,
    private readonly hostname: string,
    private readonly quotaBytes: number,
  ) {}

  private dir(name: string): string {
    try {
      return folderDir(this.root, name);
    } catch (err) {
      toStoreError(err);
    }
  }

  private async existing(name: string): Promise<string> {
    const dir = this.dir(name);
    if (name === 'INBOX') await ensureMaildir(dir);
    const st = await stat(join(dir, 'cur')).catch(() => null);
    if (!st) throw new StoreError('nonexistent', 'no such folder');
    return dir;
  }

  async listFolders(): Promise<FolderInfo[]> {
    const subs = await this.subscriptions();
    const names = ['INBOX'];
    for (const d of await readdir(this.root).catch(() => [] as string[])) {
      if (!d.startsWith('.') || d.length < 2 || d.startsWith('..')) continue;
      // On-disk names are modified UTF-7 (@postamt/maildir's folderDir, like Courier and Dovecot).
      const name = decodeMutf7(d.slice(1));
      if (name && (await stat(join(this.root, d, 'cur')).catch(() => null))) names.push(name);
    }
    return Promise.all(
      names.map(async (name) => ({
        name,
        specialUse: await this.specialUse(name),
        subscribed: subs.has(name),
      })),
    );
  }

  private async specialUse(name: string): Promise<string | null> {
    if (name === 'INBOX') return null;
    const own = await readFile(join(this.dir(name), SPECIAL_FILE), 'utf8').catch(() => null);
    return own?.trim() || DEFAULT_SPECIAL[name] || null;
  }

  private async subscriptions(): Promise<Set<string>> {
    const text = await readFile(join(this.root, SUBSCRIPTIONS), 'utf8').catch(() => '');
    return new Set(text.split('\n').filter(Boolean));
  }

  async createFolder(name: string, specialUse: string | null = null): Promise<void> {
    if (name === 'INBOX') throw new StoreError('exists', 'INBOX exists');
    const dir = this.dir(name);
    if (await stat(join(dir, 'cur')).catch(() => null)) throw new StoreError('exists', 'folder exists');
    await ensureMaildir(this.root);
    // RFC 3501 §6.3.3: create the superior hierarchical names too.
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const parent = this.dir(parts.slice(0, i).join('.'));
      await ensureMaildir(parent).catch(toStoreError);
      await writeFile(join(parent, 'maildirfolder'), '');
    }
    await ensureMaildir(dir).catch(toStoreError);
    await writeFile(join(dir, 'maildirfolder'), '');
    if (specialUse) await writeFile(join(dir, SPECIAL_FILE), specialUse);
  }

  private async children(name: string): Promise<string[]> {
    return (await this.listFolders()).map((f) => f.name).filter((n) => n.startsWith(`${name}.`));
  }

  async deleteFolder(name: string): Promise<void> {
    // RFC 3501 §6.3.4: INBOX cannot be deleted; a folder with children we refuse rather than leave \Noselect.
    if (name === 'INBOX') throw new StoreError('cannot', 'cannot delete INBOX');
    const dir = await this.existing(name);
    if ((await this.children(name)).length) throw new StoreError('cannot', 'folder has children');
    // Rename first so other readers never see a half-deleted folder.
    const gone = join(this.root, `..deleted-${randomBytes(4).toString('hex')}`);
    await rename(dir, gone).catch(toStoreError);
    await rm(gone, { recursive: true, force: true });
    await this.setSubscribed(name, false);
  }

  async renameFolder(from: string, to: string): Promise<void> {
    if (to === 'INBOX') throw new StoreError('exists', 'INBOX exists');
    const target = this.dir(to);
    if (await stat(target).catch(() => null)) throw new StoreError('exists', 'target exists');
    if (from === 'INBOX') {
      // RFC 3501 §6.3.5: move every message to the new folder, INBOX stays (empty).
      const src = await this.existing('INBOX');
      await this.createFolder(to);
      for (const sub of ['new', 'cur']) {
        for (const f of await readdir(join(src, sub))) await rename(join(src, sub, f), join(target, sub, f));
      }
      return;
    }
    const dir = await this.existing(from);
    const kids = await this.children(from);
    await rename(dir, target).catch(toStoreError);
    for (const kid of kids) await rename(this.dir(kid), this.dir(to + kid.slice(from.length)));
  }

  async setSubscribed(name: string, on: boolean): Promise<void> {
    const subs = await this.subscriptions();
    if (on) subs.add(name);
    else subs.delete(name);
    await mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `${SUBSCRIPTIONS}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, [...subs].map((s) => `${s}\n`).join(''));
    await rename(tmp, join(this.root, SUBSCRIPTIONS));
  }

  async open(name: string, claimRecent: boolean): Promise<MailboxSnapshot> {
    const dir = await this.existing(name);
    const claimed = new Set<string>();
    const { listed, list } = await withUidList(dir, async (_list, files) => {
      if (!claimRecent) return;
      // The first session to see a message in new/ moves it to cur/: it is \Recent there only (RFC 3501 §2.3.2).
      for (const f of files.values()) {
        if (f.sub !== 'new') continue;
        await rename(f.path, join(dir, 'cur', `${f.base}:2,${f.flags}`)).then(
          () => claimed.add(f.base),
          () => {},
        );
      }
    });
    const recent = new Set(listed.filter((e) => claimed.has(e.base)).map((e) => e.uid));
    const messages = await Promise.all(listed.map((e) => this.withDate(e)));
    const keywords = [...new Set(listed.flatMap((e) => e.keywords))];
    return { uidValidity: list.uidValidity, uidNext: list.uidNext, messages, recent, keywords };
  }

  private async withDate(e: Listed): Promise<MessageMeta> {
    const m = meta(e);
    const st = await stat(e.file.path).catch(() => null);
    m.internalDate = st ? st.mtime : new Date(0);
    return m;
  }

  async status(name: string): Promise<FolderStatus> {
    const dir = await this.existing(name);
    const { listed, list } = await withUidList(dir, () => undefined);
    return {
      messages: listed.length,
      unseen: listed.filter((e) => !e.file.flags.includes('S')).length,
      recent: listed.filter((e) => e.file.sub === 'new').length,
      uidNext: list.uidNext,
      uidValidity: list.uidValidity,
      size: listed.reduce((n, e) => n + e.file.size, 0),
    };
  }

  private async find(dir: string, uids: readonly number[]): Promise<Map<number, Listed>> {
    const { listed } = await withUidList(dir, () => undefined);
    const want = new Set(uids);
    return new Map(listed.filter((e) => want.has(e.uid)).map((e) => [e.uid, e]));
  }

  async read(name: string, uid: number): Promise<Buffer> {
    const dir = await this.existing(name);
    const e = (await this.find(dir, [uid])).get(uid);
    if (!e) throw new StoreError('expunged', 'message expunged');
    return readFile(e.file.path).catch(() => {
      throw new StoreError('expunged', 'message expunged');
    });
  }

  async setFlags(
    name: string,
    changes: ReadonlyArray<{ uid: number; flags: string[] }>,
  ): Promise<Map<number, string[]>> {
    const dir = await this.existing(name);
    const out = new Map<number, string[]>();
    await withUidList(dir, async (list, files) => {
      const byUid = new Map(list.entries.map((e) => [e.uid, e]));
      for (const { uid, flags } of changes) {
        const entry = byUid.get(uid);
        const file = entry && files.get(entry.base);
        if (!entry || !file) continue;
        entry.keywords = [...new Set(flags.filter((f) => !isSystemFlag(f)))];
        const letters = flagsToLetters(flags);
        if (letters !== file.flags || file.sub === 'new') {
          await rename(file.path, join(dir, 'cur', `${file.base}:2,${letters}`)).catch(() => {});
        }
        out.set(uid, [...lettersToFlags(letters), ...entry.keywords]);
      }
    });
    return out;
  }

  private newBase(size: number): string {
    return `${Math.floor(Date.now() / 1000)}.P${process.pid}R${randomBytes(6).toString('hex')}.${this.hostname.replace(/[/:]/g, '_')},S=${size}`;
  }

  async append(
    name: string,
    data: Buffer,
    flags: string[],
    date: Date | null,
  ): Promise<{ uidValidity: number; uid: number }> {
    const dir = await this.existing(name);
    await this.checkQuota(data.length);
    const d = await deliver({
      dir,
      deliveryKey: `A${randomBytes(8).toString('hex')}`,
      time: Math.floor(Date.now() / 1000),
      host: this.hostname,
      source: data,
    }).catch(toStoreError);
    const target = join(dir, 'cur', `${d.name}:2,${flagsToLetters(flags)}`);
    await rename(d.path, target).catch(toStoreError);
    if (date) await utimes(target, date, date).catch(() => {});
    const keywords = flags.filter((f) => !isSystemFlag(f));
    const { list, result } = await withUidList(dir, (l) => {
      const e = l.entries.find((x) => x.base === d.name);
      if (e) e.keywords = keywords;
      return e?.uid ?? 0;
    });
    return { uidValidity: list.uidValidity, uid: result };
  }

  async copy(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    const src = await this.existing(from);
    const dst = await this.existing(to);
    const found = await this.find(src, uids);
    await this.checkQuota([...found.values()].reduce((n, e) => n + e.file.size, 0));
    const { result, list } = await withUidList(dst, async (l) => {
      const pairs: Array<[number, number]> = [];
      for (const uid of uids) {
        const e = found.get(uid);
        if (!e) continue;
        const base = this.newBase(e.file.size);
        // A hard link shares the bytes; the file is never rewritten, so both copies stay correct.
        await link(e.file.path, join(dst, 'cur', `${base}:2,${e.file.flags}`)).catch(toStoreError);
        const newUid = l.uidNext++;
        l.entries.push({ uid: newUid, base, keywords: [...e.keywords] });
        pairs.push([uid, newUid]);
      }
      return pairs;
    });
    return { uidValidity: list.uidValidity, pairs: result };
  }

  async move(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    const result = await this.copy(from, uids, to);
    await this.expunge(
      from,
      result.pairs.map(([s]) => s),
    );
    return result;
  }

  async expunge(name: string, uids: readonly number[]): Promise<number[]> {
    const dir = await this.existing(name);
    const found = await this.find(dir, uids);
    const removed: number[] = [];
    for (const [uid, e] of found) {
      await unlink(e.file.path).then(
        () => removed.push(uid),
        () => {},
      );
    }
    await withUidList(dir, () => undefined);
    return removed.sort((a, b) => a - b);
  }

  private async usage(): Promise<number> {
    let total = 0;
    for (const f of await this.listFolders()) total += (await this.status(f.name)).size;
    return total;
  }

  private async checkQuota(extra: number): Promise<void> {
    if (this.quotaBytes > 0 && (await this.usage()) + extra > this.quotaBytes)
      throw new StoreError('over-quota', 'quota exceeded');
  }

  async quota(): Promise<{ usedKiB: number; limitKiB: number } | null> {
    if (this.quotaBytes <= 0) return null;
    return { usedKiB: Math.ceil((await this.usage()) / 1024), limitKiB: Math.floor(this.quotaBytes / 1024) };
  }

  watch(name: string, onChange: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, 30);
    };
    const watchers = ['new', 'cur'].flatMap((sub) => {
      try {
        return [fsWatch(join(this.dir(name), sub), fire)];
      } catch {
        return [];
      }
    });
    for (const w of watchers) w.on('error', () => {});
    return () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    };
  }
}

export class MaildirStoreProvider implements StoreProvider {
  constructor(
    private readonly dataDir: string,
    private readonly hostname: string,
    private readonly quotaOf: (userKey: string) => Promise<number>,
  ) {}

  async forUser(userKey: string): Promise<MailStore> {
    const root = userMaildir(this.dataDir, userKey);
    await ensureMaildir(root);
    return new MaildirStore(root, this.hostname, await this.quotaOf(userKey));
  }
}
