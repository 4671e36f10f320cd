// MaildirStore: one user's Maildir++ behind the MailStore interface. It holds
// no authority of its own — the files, the UID lists and the keyword tables
// on the shared volume are the truth, and any number of MaildirStore objects
// in any number of processes may work on one user at once. What it keeps in
// memory (the last synced state of each folder) is only used to find files
// quickly; a UID it does not know triggers a sync, a file that moved is found
// again by its base name, a file that vanished is 'not-found'.
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureMaildir } from './deliver.js';
import {
  applyFlagOp,
  type FlagOp,
  flagsToLetters,
  isKeyword,
  lettersToFlags,
  normalizeFlag,
} from './flags.js';
import {
  createFolder as createFolderDir,
  deleteFolder as deleteFolderDir,
  listFolderNames,
  removeLeftovers,
  renameFolder as renameFolderDir,
  SPECIAL_USE,
} from './folders.js';
import { fsyncDir, isMissing, mapLimit } from './fsutil.js';
import { FolderIndex } from './index-cache.js';
import { ensureKeywords, type KeywordTable, readKeywords } from './keywords.js';
import { folderDir, folderDiskName, isInbox, MaildirError, SEPARATOR } from './layout.js';
import { parseName } from './list.js';
import type { LockOptions } from './lock.js';
import { checkQuota, folderUsage, type QuotaLimit, recordQuota } from './quota.js';
import { defaultHost, linkCopy, makeBase, nameTime, safeHost, saveMessage, targetName } from './save.js';
import { type FileRef, findBase } from './scan.js';
import { readSubscriptions, updateSubscriptions } from './subscriptions.js';
import { syncFolder } from './sync.js';
import type {
  AppendOptions,
  CopyResult,
  FlagUpdate,
  FolderInfo,
  FolderSnapshot,
  Indexer,
  MailStore,
  MessageInfo,
} from './types.js';
import type { UidList } from './uidlist.js';

export interface MaildirStoreOptions {
  /** The user's Maildir++ root (userMaildir). */
  root: string;
  /** Host part of new file names; default this machine's name. */
  host?: string;
  quota?: QuotaLimit;
  /** Computes the per-message summary cached in the folder index (IMAP: ENVELOPE, BODYSTRUCTURE). */
  indexer?: Indexer;
  lock?: LockOptions;
}

interface FolderState {
  dir: string;
  list: UidList;
  files: Map<string, FileRef>;
  byUid: Map<number, string>;
  index: FolderIndex;
}

const canonical = (folder: string) => (isInbox(folder) ? 'INBOX' : folder);

export class MaildirStore implements MailStore {
  private readonly states = new Map<string, FolderState>();
  private readonly host: string;
  private specialReady = false;
  private rootReady = false;

  constructor(private readonly opts: MaildirStoreOptions) {
    this.host = opts.host ? safeHost(opts.host) : defaultHost();
  }

  get root(): string {
    return this.opts.root;
  }

  // ---- folders -------------------------------------------------------------

  private async ensureRoot(): Promise<void> {
    if (this.rootReady) return;
    await ensureMaildir(this.root);
    await removeLeftovers(this.root);
    this.rootReady = true;
  }

  /** Special-use folders exist from the first time anyone looks, subscribed. */
  private async ensureSpecialUse(): Promise<void> {
    if (this.specialReady) return;
    await this.ensureRoot();
    const existing = new Set(await listFolderNames(this.root));
    const missing = Object.keys(SPECIAL_USE).filter((n) => !existing.has(n));
    for (const n of missing) await createFolderDir(this.root, n, true);
    if (missing.length > 0 || existing.size === 0)
      await updateSubscriptions(this.root, { add: ['INBOX', ...missing] }, this.opts.lock);
    this.specialReady = true;
  }

  /** The folder's directory; INBOX and special-use folders are created when first used. */
  private async dirOf(folder: string): Promise<string> {
    const dir = folderDir(this.root, folder);
    if (isInbox(folder)) await this.ensureRoot();
    else if (SPECIAL_USE[folder] && !(await stat(dir).catch(() => null))) await this.ensureSpecialUse();
    return dir;
  }

  async listFolders(): Promise<FolderInfo[]> {
    await this.ensureSpecialUse();
    const names = await listFolderNames(this.root);
    const subs = await readSubscriptions(this.root);
    const hasChildren = (n: string) => names.some((m) => m.startsWith(`${n}${SEPARATOR}`));
    return [
      { name: 'INBOX', subscribed: subs.has('INBOX'), hasChildren: hasChildren('INBOX') },
      ...names.map((name) => ({
        name,
        subscribed: subs.has(name),
        hasChildren: hasChildren(name),
        ...(SPECIAL_USE[name] ? { specialUse: SPECIAL_USE[name] } : {}),
      })),
    ];
  }

  async createFolder(name: string): Promise<void> {
    await this.ensureRoot();
    await createFolderDir(this.root, name);
  }

  async deleteFolder(name: string): Promise<void> {
    const dir = folderDir(this.root, name);
    const usage = await folderUsage(dir);
    await deleteFolderDir(this.root, name, this.opts.lock);
    this.states.delete(dir);
    await recordQuota(this.root, -usage.bytes, -usage.messages);
  }

  async renameFolder(from: string, to: string): Promise<void> {
    if (isInbox(to)) throw new MaildirError('cannot rename onto INBOX', 'exists');
    if (isInbox(from)) {
      // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new folder; INBOX stays, empty.
      await this.createFolder(to);
      const inbox = await this.open('INBOX');
      await this.move(
        'INBOX',
        inbox.messages.map((m) => m.uid),
        to,
      );
      return;
    }
    const moves = await renameFolderDir(this.root, from, to, this.opts.lock);
    this.states.clear();
    const subs = await readSubscriptions(this.root);
    const renamed = moves.filter(([a]) => subs.has(a));
    if (renamed.length > 0)
      await updateSubscriptions(
        this.root,
        { remove: renamed.map(([a]) => a), add: renamed.map(([, b]) => b) },
        this.opts.lock,
      );
  }

  async subscribe(name: string): Promise<void> {
    if (!isInbox(name)) folderDiskName(name);
    await this.ensureRoot();
    await updateSubscriptions(this.root, { add: [canonical(name)] }, this.opts.lock);
  }

  async unsubscribe(name: string): Promise<void> {
    if (!isInbox(name)) folderDiskName(name);
    await this.ensureRoot();
    await updateSubscriptions(this.root, { remove: [canonical(name)] }, this.opts.lock);
  }

  // ---- reading -------------------------------------------------------------

  private async sync(folder: string, mutate?: () => Promise<void>): Promise<FolderState> {
    const dir = await this.dirOf(folder);
    const r = await syncFolder(dir, { lock: this.opts.lock, ...(mutate ? { mutate } : {}) });
    const prev = this.states.get(dir);
    const index = prev && !(await prev.index.changedOnDisk()) ? prev.index : await FolderIndex.load(dir);
    const byUid = new Map<number, string>();
    for (const [base, uid] of r.list.uids) byUid.set(uid, base);
    const state = { dir, list: r.list, files: r.files, byUid, index };
    this.states.set(dir, state);
    return state;
  }

  /** The last synced state, or a fresh sync when the folder was never opened or does not know `uid`. */
  private async state(folder: string, uids: readonly number[] = []): Promise<FolderState> {
    const s = this.states.get(folderDir(this.root, folder));
    if (s && uids.every((u) => s.byUid.has(u))) return s;
    return this.sync(folder);
  }

  async open(folder: string): Promise<FolderSnapshot> {
    const s = await this.sync(folder);
    const table = await readKeywords(s.dir);
    const messages: MessageInfo[] = [];
    const unknown: MessageInfo[] = [];
    for (const [base, uid] of s.list.uids) {
      const ref = s.files.get(base) as FileRef;
      const p = parseName(ref.name);
      const cached = s.index.get(base, p.size);
      const time = cached?.date ?? nameTime(base);
      const m: MessageInfo = {
        uid,
        base,
        path: join(s.dir, ref.sub, ref.name),
        size: cached?.size ?? p.size ?? -1,
        flags: lettersToFlags(p.flags, table),
        internalDate: new Date(time ?? 0),
        recent: ref.sub === 'new',
      };
      if (!cached) unknown.push(m);
      messages.push(m);
    }
    // Only files without size or date in their name are stat()ed, and only once: the index remembers.
    await mapLimit(unknown, 16, async (m) => {
      const needStat = m.size < 0 || nameTime(m.base) === null;
      const st = needStat ? await stat(m.path).catch(() => null) : null;
      if (m.size < 0) m.size = st?.size ?? 0;
      if (nameTime(m.base) === null && st) m.internalDate = st.mtime;
      s.index.set(m.base, { size: m.size, date: m.internalDate.getTime() });
    });
    s.index.prune(s.files);
    await s.index.save().catch(() => {});
    return {
      folder: canonical(folder),
      uidValidity: s.list.uidValidity,
      uidNext: s.list.nextUid,
      messages,
      keywords: table.filter((k): k is string => k !== undefined),
    };
  }

  /** Finds the current file of a UID, following renames by other processes. */
  private async locate(
    folder: string,
    uid: number,
  ): Promise<{ s: FolderState; base: string; ref: FileRef } | null> {
    const s = await this.state(folder, [uid]);
    const base = s.byUid.get(uid);
    if (!base) return null;
    const ref = s.files.get(base);
    if (ref && (await stat(join(s.dir, ref.sub, ref.name)).catch(() => null))) return { s, base, ref };
    const found = await findBase(s.dir, base);
    if (!found) return null;
    s.files.set(base, found);
    return { s, base, ref: found };
  }

  async openMessage(folder: string, uid: number): Promise<{ handle: FileHandle; size: number }> {
    // A file can move between locate() and open(); a few rounds settle it.
    for (let attempt = 0; attempt < 5; attempt++) {
      const hit = await this.locate(folder, uid);
      if (!hit) break;
      try {
        const handle = await open(join(hit.s.dir, hit.ref.sub, hit.ref.name), 'r');
        return { handle, size: (await handle.stat()).size };
      } catch (e) {
        if (!isMissing(e)) throw e;
        hit.s.files.delete(hit.base);
      }
    }
    throw new MaildirError('message is gone', 'not-found');
  }

  async readMessage(folder: string, uid: number): Promise<Buffer> {
    const { handle } = await this.openMessage(folder, uid);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async summaries(folder: string, uids: readonly number[]): Promise<Map<number, unknown>> {
    const out = new Map<number, unknown>();
    const s = await this.state(folder, uids);
    for (const uid of uids) {
      const base = s.byUid.get(uid);
      if (!base) continue;
      const entry = s.index.get(base, parseName(base).size);
      if (entry?.summary !== undefined) {
        out.set(uid, entry.summary);
        continue;
      }
      if (!this.opts.indexer) continue;
      let bytes: Buffer;
      try {
        bytes = await this.readMessage(folder, uid);
      } catch (e) {
        if (e instanceof MaildirError && e.code === 'not-found') continue;
        throw e;
      }
      const summary = await this.opts.indexer(bytes);
      s.index.set(base, { size: bytes.length, date: entry?.date ?? nameTime(base) ?? Date.now(), summary });
      out.set(uid, summary);
    }
    await s.index.save().catch(() => {});
    return out;
  }

  // ---- changing ------------------------------------------------------------

  private async keywordTable(dir: string, flags: readonly string[]): Promise<KeywordTable> {
    const kws = flags.filter(isKeyword);
    return kws.length > 0 ? ensureKeywords(dir, kws, this.opts.lock) : readKeywords(dir);
  }

  async setFlags(
    folder: string,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
  ): Promise<FlagUpdate[]> {
    const wanted = flags.map(normalizeFlag);
    const s = await this.state(folder, uids);
    const table = await this.keywordTable(s.dir, op === 'remove' ? [] : wanted);
    const out: FlagUpdate[] = [];
    for (const uid of uids) {
      let hit = await this.locate(folder, uid);
      while (hit) {
        const current = parseName(hit.ref.name).flags;
        const next = applyFlagOp(lettersToFlags(current, table), op, wanted);
        const t = targetName(hit.base, flagsToLetters(next, table, current));
        if (hit.ref.sub === t.sub && hit.ref.name === t.name) {
          out.push({ uid, flags: next });
          break;
        }
        try {
          // rename is atomic: if another process changed the flags first, our source is gone and we retry on its result.
          await rename(join(hit.s.dir, hit.ref.sub, hit.ref.name), join(hit.s.dir, t.sub, t.name));
          hit.s.files.set(hit.base, t);
          out.push({ uid, flags: next });
          break;
        } catch (e) {
          if (!isMissing(e)) throw e;
          hit.s.files.delete(hit.base);
          hit = await this.locate(folder, uid);
        }
      }
    }
    return out;
  }

  async append(
    folder: string,
    message: Buffer,
    opts: AppendOptions = {},
  ): Promise<{ uidValidity: number; uid: number }> {
    const flags = (opts.flags ?? []).map(normalizeFlag);
    const dir = await this.dirOf(folder);
    await stat(dir).catch(() => {
      throw new MaildirError('no such folder', 'not-found');
    });
    await checkQuota(this.root, this.opts.quota, message.length);
    const table = await this.keywordTable(dir, flags);
    const letters = flags.length > 0 ? flagsToLetters(flags, table) : null;
    const saved = await saveMessage(dir, message, {
      host: this.host,
      date: opts.date ?? new Date(),
      letters,
    });
    let s: FolderState;
    try {
      s = await this.sync(folder, saved.publish);
    } catch (err) {
      await saved.discard();
      throw err;
    }
    await recordQuota(this.root, message.length, 1);
    const uid = s.list.uids.get(saved.base) as number;
    return { uidValidity: s.list.uidValidity, uid };
  }

  private async transfer(from: string, uids: readonly number[], to: string, mode: 'copy' | 'move') {
    const src = await this.state(from, uids);
    const dstDir = await this.dirOf(to);
    if (!(await stat(dstDir).catch(() => null))) throw new MaildirError('no such folder', 'not-found');
    const srcTable = await readKeywords(src.dir);
    const items: { uid: number; base: string; ref: FileRef; flags: string[]; size: number; date: Date }[] =
      [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const hit = await this.locate(from, uid);
      if (!hit) continue;
      const p = parseName(hit.ref.name);
      const path = join(src.dir, hit.ref.sub, hit.ref.name);
      const st = p.size === null || nameTime(hit.base) === null ? await stat(path).catch(() => null) : null;
      items.push({
        uid,
        base: hit.base,
        ref: hit.ref,
        flags: lettersToFlags(p.flags, srcTable),
        size: p.size ?? st?.size ?? 0,
        date: new Date(nameTime(hit.base) ?? st?.mtimeMs ?? Date.now()),
      });
    }
    const dstTable = await this.keywordTable(
      dstDir,
      items.flatMap((i) => i.flags),
    );
    if (mode === 'copy')
      await checkQuota(
        this.root,
        this.opts.quota,
        items.reduce((n, i) => n + i.size, 0),
        items.length,
      );
    const done: { uid: number; base: string; size: number }[] = [];
    // The files appear in the target under its lock, so they get their UIDs in this sync (see syncFolder).
    const place = async () => {
      for (const item of items) {
        const base = makeBase(this.host, item.date, item.size);
        const letters = flagsToLetters(item.flags, dstTable);
        let ref: FileRef | null = item.ref;
        while (ref) {
          const path = join(src.dir, ref.sub, ref.name);
          try {
            if (mode === 'copy') await linkCopy(path, dstDir, base, letters);
            else {
              const t = targetName(base, letters);
              await rename(path, join(dstDir, t.sub, t.name));
            }
            done.push({ uid: item.uid, base, size: item.size });
            break;
          } catch (e) {
            if (!isMissing(e)) throw e;
            ref = await findBase(src.dir, item.base);
          }
        }
      }
      await fsyncDir(join(dstDir, 'cur'));
    };
    const dst = await this.sync(to, place);
    if (mode === 'copy')
      await recordQuota(
        this.root,
        done.reduce((n, d) => n + d.size, 0),
        done.length,
      );
    if (mode === 'move') await this.sync(from);
    const pairs: [number, number][] = [];
    for (const d of done) {
      const uid = dst.list.uids.get(d.base);
      if (uid !== undefined) pairs.push([d.uid, uid]);
    }
    return { uidValidity: dst.list.uidValidity, pairs };
  }

  copy(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return this.transfer(from, uids, to, 'copy');
  }

  move(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return this.transfer(from, uids, to, 'move');
  }

  async expunge(folder: string, uids: readonly number[]): Promise<number[]> {
    const removed: number[] = [];
    let bytes = 0;
    for (const uid of uids) {
      let hit = await this.locate(folder, uid);
      while (hit) {
        const p = parseName(hit.ref.name);
        const path = join(hit.s.dir, hit.ref.sub, hit.ref.name);
        try {
          const size = p.size ?? (await stat(path)).size;
          await unlink(path);
          removed.push(uid);
          bytes += size;
          break;
        } catch (e) {
          if (!isMissing(e)) throw e;
          hit.s.files.delete(hit.base);
          hit = await this.locate(folder, uid);
        }
      }
    }
    await recordQuota(this.root, -bytes, -removed.length);
    if (removed.length > 0) await this.sync(folder);
    return removed;
  }
}
