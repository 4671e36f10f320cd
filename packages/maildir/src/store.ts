// MaildirStore: one user's Maildir++ behind the MailStore interface. It holds
// no authority of its own — the files, the UID lists and the keyword tables
// on the shared volume are the truth, and any number of MaildirStore objects
// in any number of processes may work on one user at once. What it keeps in
// memory (the last synced state of each folder) is only used to find files
// quickly; a UID it does not know triggers a sync, a file that moved is found
// again by its base name, a file that vanished is 'not-found'. Modification
// sequences (RFC 7162, modseq.ts) live beside the UID list the same way:
// recorded under the folder lock, by whichever process makes or finds a change.
import { readFile as readFileCb } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  listFolderTree,
  removeLeftovers,
  renameFolder as renameFolderDir,
  SPECIAL_USE,
} from './folders.js';
import { fsyncDir, isMissing, mapLimit } from './fsutil.js';
import { appendIndexEntries, FolderIndex, type IndexEntry, SUMMARY_FILE } from './index-cache.js';
import { ensureKeywords, type KeywordTable, readKeywords } from './keywords.js';
import { folderDir, folderDiskName, isInbox, MaildirError, SEPARATOR } from './layout.js';
import { parseName, sizeInName } from './list.js';
import { type LockOptions, withLock } from './lock.js';
import {
  changedSince,
  expungedSince,
  hasLetters,
  lettersOf,
  type ModseqChange,
  type ModseqState,
  modseqOf,
  readModseq,
  recordChanges,
} from './modseq.js';
import { checkQuota, folderUsage, type QuotaLimit, recordQuota } from './quota.js';
import { readInline } from './read-inline.js';
import { defaultHost, linkCopy, makeBase, nameTime, safeHost, saveMessage, targetName } from './save.js';
import { diffListings, type FileRef, type Listing, scanFolder } from './scan.js';
import { readSubscriptions, updateSubscriptions } from './subscriptions.js';
import { type Checked, type KnownScan, syncFolder } from './sync.js';
import type {
  AppendOptions,
  CopyResult,
  FlagUpdate,
  FolderInfo,
  FolderSnapshot,
  Indexer,
  MailStore,
  MessageInfo,
  SetFlagsOptions,
} from './types.js';
import { FOLDER_LOCK_FILE, type UidList } from './uidlist.js';

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
  /** Shared with other syncs of the folder and updated in place: read it synchronously. */
  modseq: ModseqState;
  index: FolderIndex;
  /** Loaded at the first summaries() call on the folder. */
  summaries?: FolderIndex;
  /** The list the indexes were last pruned against. */
  prunedFor?: UidList;
  /** Lets the next sync skip the scan while new/ and cur/ are unchanged (sync.ts KnownScan). */
  known?: KnownScan;
  /** The messages of the last open: all of them reused while `known` is the same, else message by message (openNow). */
  opened?: Opened;
  /** The listing `files` was made from (not updated by in-place changes to `files`; none after a partial sync). */
  listing?: Listing;
  /** Lets the next sync check only what changed since (sync.ts Checked); its list is `list`. */
  checked?: Checked;
}

/** What the last open of a folder made, for the next (openNow). */
interface Opened {
  /** The scan it was made from, if that scan can be recognised again (sync.ts KnownScan). */
  known: KnownScan | undefined;
  list: UidList;
  keywords: string;
  /** In the UID list's order, with the file name each was made from. */
  messages: MessageInfo[];
  names: string[];
  /** The state's listing and highest modseq when the messages were made (changedOnly). */
  listing: Listing | undefined;
  highest: number;
}

/** Messages made by openNow, and those of them whose size or date must still be looked up. */
interface Made {
  messages: MessageInfo[];
  names: string[];
  unknown: MessageInfo[];
}

const readFileNative = promisify(readFileCb);

/** Message files read at once while indexing. */
const SUMMARY_READERS = 8;

/** A keyword table as one comparable string (slot numbers matter: they are the file name letters). */
const keywordsKey = (table: KeywordTable): string => table.map((k, i) => `${i} ${k}`).join('\n');

/** The first index of messages (ascending by UID) whose UID is not below `uid`. */
function lowerBound(messages: readonly MessageInfo[], uid: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((messages[mid] as MessageInfo).uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The arrays one after another (concat of a few thousand at a time: spread arguments are limited). */
function joined<T>(parts: T[][]): T[] {
  let out: T[] = [];
  for (let i = 0; i < parts.length; i += 4096) out = out.concat(...parts.slice(i, i + 4096));
  return out;
}

const canonical = (folder: string) => (isInbox(folder) ? 'INBOX' : folder);

export class MaildirStore implements MailStore {
  private readonly states = new Map<string, FolderState>();
  private readonly opening = new Map<
    string,
    { running: Promise<FolderSnapshot>; next?: Promise<FolderSnapshot> }
  >();
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
    const tree = await listFolderTree(this.root);
    const subs = await readSubscriptions(this.root);
    const inboxChildren = tree.some((f) => f.name.startsWith(`INBOX${SEPARATOR}`));
    const known = new Set(tree.map((f) => f.name));
    const gone = [...subs].filter((n) => !isInbox(n) && !known.has(n)).sort();
    return [
      { name: 'INBOX', subscribed: subs.has('INBOX'), hasChildren: inboxChildren },
      ...tree.map((f) => ({
        name: f.name,
        subscribed: subs.has(f.name),
        hasChildren: f.hasChildren,
        ...(f.noselect ? { noselect: true } : {}),
        ...(SPECIAL_USE[f.name] && !f.noselect ? { specialUse: SPECIAL_USE[f.name] } : {}),
      })),
      ...gone.map((name) => ({ name, subscribed: true, hasChildren: false, nonexistent: true })),
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

  private async sync(
    folder: string,
    mutate?: () => Promise<void>,
    placed?: () => Map<string, FileRef>,
  ): Promise<FolderState> {
    const dir = await this.dirOf(folder);
    let prev = this.states.get(dir);
    const r = await syncFolder(dir, {
      lock: this.opts.lock,
      ...(mutate ? { mutate } : {}),
      // Without a known state to add them to, a full sync is as cheap as any.
      ...(placed && prev ? { placed } : {}),
      ...(prev?.known ? { known: prev.known } : {}),
      ...(prev?.checked && prev.checked.list === prev.list
        ? { checked: prev.checked, byUid: prev.byUid }
        : {}),
    });
    prev = this.states.get(dir);
    const placedFiles = r.partial ? r.files : null;
    if (r.partial) {
      if (!prev) return this.sync(folder);
      for (const [base, ref] of r.files) prev.files.set(base, ref);
      r.files = prev.files;
    }
    let index: FolderIndex;
    if (prev) {
      index = prev.index;
      await index.refresh();
      await prev.summaries?.refresh();
    } else index = await FolderIndex.load(dir);
    // The list is the same object while the file is unchanged (see readUidList): no need to index it again.
    let byUid = prev?.list === r.list ? prev.byUid : undefined;
    if (!byUid && placedFiles && prev && r.from === prev.list) {
      // Only UIDs were added: extend the map (it belongs to this store alone) instead of rebuilding it.
      byUid = prev.byUid;
      for (const base of placedFiles.keys()) {
        const uid = r.list.uids.get(base);
        if (uid !== undefined) byUid.set(uid, base);
      }
    }
    if (!byUid) {
      byUid = new Map<number, string>();
      for (const [base, uid] of r.list.uids) byUid.set(uid, base);
    }
    const state: FolderState = { dir, list: r.list, files: r.files, byUid, modseq: r.modseq, index };
    if (prev?.summaries) state.summaries = prev.summaries;
    if (prev?.prunedFor === r.list) state.prunedFor = r.list;
    if (r.known && r.known.files === r.files) state.known = r.known;
    if (prev?.opened) state.opened = prev.opened;
    if (r.listing && !r.partial) state.listing = r.listing;
    const checked = r.checked ?? (prev?.checked?.list === r.list && !r.partial ? prev.checked : undefined);
    if (checked) state.checked = checked;
    this.states.set(dir, state);
    return state;
  }

  /** The last synced state, or a fresh sync when the folder was never opened or does not know `uid`. */
  private async state(folder: string, uids: readonly number[] = []): Promise<FolderState> {
    const s = this.states.get(folderDir(this.root, folder));
    if (s && uids.every((u) => s.byUid.has(u))) return s;
    return this.sync(folder);
  }

  /**
   * Callers that arrive while an open() of the folder is running share the
   * next one, which starts after it: a new-mail event that wakes 1,000
   * sessions of one user costs two folder syncs, not 1,000 — and every
   * caller still gets a snapshot taken after it asked. The messages array and
   * the MessageInfo objects in it are shared, read-only: an open of an
   * unchanged folder copies nothing (a 10,000-message SELECT made 80 KB of
   * garbage per caller when it was copied).
   */
  async open(folder: string): Promise<FolderSnapshot> {
    const key = folderDir(this.root, folder);
    const slot = this.opening.get(key);
    let snap: Promise<FolderSnapshot>;
    if (!slot) snap = this.startOpen(key, folder);
    else {
      slot.next ??= slot.running.then(
        () => this.startOpen(key, folder),
        () => this.startOpen(key, folder),
      );
      snap = slot.next;
    }
    return snap;
  }

  private startOpen(key: string, folder: string): Promise<FolderSnapshot> {
    const running = this.openNow(folder);
    const slot: { running: Promise<FolderSnapshot>; next?: Promise<FolderSnapshot> } = { running };
    this.opening.set(key, slot);
    const done = () => {
      if (this.opening.get(key) === slot) this.opening.delete(key);
    };
    running.then(done, done);
    return running;
  }

  private async openNow(folder: string): Promise<FolderSnapshot> {
    let s = await this.sync(folder);
    let table = await readKeywords(s.dir);
    // Same files, UID list, modseqs and keywords as at the last open: the same messages.
    const was = s.opened;
    if (was?.known && was.known === s.known && was.list === s.list && was.keywords === keywordsKey(table))
      return this.snapshot(folder, s, table, was.messages);
    let made = was ? this.changedOnly(s, table, was) : null;
    let settled = made !== null;
    let highest = s.modseq.highest;
    for (let round = 0; !made; round++) {
      // A file renamed since the sync recorded it (seen by a lookup since) would pair
      // new flags with an old modseq: sync again until they agree (a few rounds at most).
      let inStep = true;
      const messages: MessageInfo[] = [];
      const names: string[] = [];
      const unknown: MessageInfo[] = [];
      // Messages with the same letters share one (read-only) flags array.
      const flagsOf = new Map<string, string[]>();
      // A message whose file name, modseq and keyword table are as at the last open is
      // the same MessageInfo (size and date of a base never change): after a few flag
      // changes or expunges only those messages are made again. Both lists ascend by UID.
      const old = was && was.keywords === keywordsKey(table) ? was : null;
      let at = 0;
      for (const [base, uid] of s.list.uids) {
        const ref = s.files.get(base) as FileRef;
        const e = s.modseq.msgs.get(uid);
        if (old) {
          while (at < old.messages.length && (old.messages[at] as MessageInfo).uid < uid) at++;
          const o = old.messages[at];
          if (
            o?.uid === uid &&
            old.names[at] === ref.name &&
            o.recent === (ref.sub === 'new') &&
            o.modseq === (e?.modseq ?? s.modseq.highest)
          ) {
            if (!e || !hasLetters(ref.name, e.letters)) inStep = false;
            messages.push(o);
            names.push(ref.name);
            continue;
          }
        }
        if (e?.letters !== lettersOf(ref.name)) inStep = false;
        const m = this.message(s, table, flagsOf, uid, base, ref, e, unknown);
        messages.push(m);
        names.push(ref.name);
      }
      highest = s.modseq.highest;
      if (inStep || round >= 2) {
        made = { messages, names, unknown };
        settled = inStep;
        break;
      }
      s = await this.sync(folder);
      table = await readKeywords(s.dir);
    }
    const { messages, names, unknown } = made;
    // Only files without size or date in their name are stat()ed, and only once: the index remembers.
    await mapLimit(unknown, 16, async (m) => {
      const needStat = m.size < 0 || nameTime(m.base) === null;
      const st = needStat ? await stat(m.path).catch(() => null) : null;
      if (m.size < 0) m.size = st?.size ?? 0;
      if (nameTime(m.base) === null && st) m.internalDate = st.mtime;
      s.index.set(m.base, { size: m.size, date: m.internalDate.getTime() });
    });
    // Entries can only go stale when the list changed (a file went away).
    if (s.prunedFor !== s.list) {
      s.index.prune(s.files);
      s.summaries?.prune(s.files);
      s.prunedFor = s.list;
    }
    await s.index.save().catch(() => {});
    await s.summaries?.save().catch(() => {});
    // Kept for the next open (only a list whose modseqs agreed with the files).
    if (settled && this.states.get(s.dir) === s)
      s.opened = {
        // With files that were stat()ed, the next open must look at the index again.
        known: unknown.length === 0 ? s.known : undefined,
        list: s.list,
        keywords: keywordsKey(table),
        messages,
        names,
        listing: s.listing,
        highest,
      };
    return this.snapshot(folder, s, table, messages);
  }

  /** One message as the files, the index and the modseqs have it now; added to `unknown` when not in the index. */
  private message(
    s: FolderState,
    table: KeywordTable,
    flagsOf: Map<string, string[]>,
    uid: number,
    base: string,
    ref: FileRef,
    e: { modseq: number } | undefined,
    unknown: MessageInfo[],
  ): MessageInfo {
    const letters = lettersOf(ref.name);
    const nameSize = sizeInName(base);
    const cached = s.index.get(base, nameSize);
    const time = cached?.date ?? nameTime(base);
    let flags = flagsOf.get(letters);
    if (!flags) {
      flags = lettersToFlags(letters, table);
      flagsOf.set(letters, flags);
    }
    const m: MessageInfo = {
      uid,
      base,
      path: `${s.dir}/${ref.sub}/${ref.name}`,
      size: cached?.size ?? nameSize ?? -1,
      flags,
      internalDate: new Date(time ?? 0),
      recent: ref.sub === 'new',
      modseq: e?.modseq ?? s.modseq.highest,
    };
    if (!cached) unknown.push(m);
    return m;
  }

  /**
   * The messages of `s` made from those of the last open `was`, walking only
   * what changed since: files that differ between the two listings and UIDs
   * that got a modseq. Every other message is the same MessageInfo (sessions
   * share the array and compare the objects). After 100 flag changes and
   * expunges in a 100,000-message folder that is 100 messages made and no
   * lookups for the rest. Null when it cannot be told that way (no listings,
   * another UIDVALIDITY or keyword table, many changes, a log that does not
   * go back far enough, or a file not in step with its modseq): then openNow
   * compares every message.
   */
  private changedOnly(s: FolderState, table: KeywordTable, was: Opened): Made | null {
    if (!was.listing || !s.listing || was.list.uidValidity !== s.list.uidValidity) return null;
    if (was.keywords !== keywordsKey(table)) return null;
    const limit = Math.max(64, was.messages.length >> 4);
    const bases = diffListings(was.listing, s.listing, limit);
    const logged = bases ? changedSince(s.modseq, was.highest) : null;
    if (!bases || !logged || logged.length > 2 * limit) return null;
    // UID → base of every message to make again, or to drop when its base is no longer listed.
    const redo = new Map<number, string>();
    for (const base of bases) {
      const uid = s.list.uids.get(base) ?? was.list.uids.get(base);
      if (uid !== undefined) redo.set(uid, base);
    }
    for (const uid of logged) {
      if (redo.has(uid)) continue;
      const at = lowerBound(was.messages, uid);
      const base = s.byUid.get(uid) ?? (was.messages[at]?.uid === uid ? was.messages[at]?.base : undefined);
      if (base !== undefined) redo.set(uid, base);
    }
    // The unchanged runs between the changed messages are copied whole (a few hundred copies, not 100,000 pushes).
    const parts: MessageInfo[][] = [];
    const nameParts: string[][] = [];
    const unknown: MessageInfo[] = [];
    const flagsOf = new Map<string, string[]>();
    // False: not as synced (a file not in step with its modseq, a base with another UID).
    const make = (uid: number): boolean => {
      const base = redo.get(uid) as string;
      const now = s.list.uids.get(base);
      if (now === undefined) return !s.files.has(base);
      const ref = s.files.get(base);
      const e = s.modseq.msgs.get(uid);
      if (now !== uid || !ref || !e || !hasLetters(ref.name, e.letters)) return false;
      parts.push([this.message(s, table, flagsOf, uid, base, ref, e, unknown)]);
      nameParts.push([ref.name]);
      return true;
    };
    let from = 0;
    for (const uid of [...redo.keys()].sort((a, b) => a - b)) {
      const at = lowerBound(was.messages, uid);
      parts.push(was.messages.slice(from, at));
      nameParts.push(was.names.slice(from, at));
      from = was.messages[at]?.uid === uid ? at + 1 : at;
      if (!make(uid)) return null;
    }
    parts.push(was.messages.slice(from));
    nameParts.push(was.names.slice(from));
    const out: Made = { messages: joined(parts), names: joined(nameParts), unknown };
    return out.messages.length === s.list.uids.size ? out : null;
  }

  private snapshot(
    folder: string,
    s: FolderState,
    table: KeywordTable,
    messages: MessageInfo[],
  ): FolderSnapshot {
    return {
      folder: canonical(folder),
      uidValidity: s.list.uidValidity,
      uidNext: s.list.nextUid,
      highestModseq: s.modseq.highest,
      messages,
      keywords: table.filter((k): k is string => k !== undefined),
    };
  }

  async expungedSince(folder: string, modseq: number): Promise<number[] | null> {
    const s = await this.state(folder);
    return expungedSince(s.modseq, modseq);
  }

  /**
   * Where a UID's file was last seen. Not checked here: the caller's open,
   * rename or unlink fails with ENOENT if another process moved it, and then
   * calls `moved`.
   */
  private async locate(
    folder: string,
    uid: number,
  ): Promise<{ s: FolderState; base: string; ref: FileRef } | null> {
    const s = await this.state(folder, [uid]);
    const base = s.byUid.get(uid);
    if (!base) return null;
    const ref = s.files.get(base);
    return ref ? { s, base, ref } : null;
  }

  /**
   * `ref` of `base` was not there: another process renamed (flags, new/ →
   * cur/) or removed it. One directory scan refreshes the base → file map of
   * the whole folder, so a client walking a folder that another process has
   * just flagged pays one scan, not one per message. If the map already moved
   * on (another call rescanned since), the scan is skipped.
   */
  private async moved(s: FolderState, base: string, ref: FileRef): Promise<FileRef | null> {
    const now = s.files.get(base);
    if (now && now !== ref) return now;
    await this.rescan(s);
    return s.files.get(base) ?? null;
  }

  /** Refreshes the base → file map of the whole folder from one directory scan. */
  private async rescan(s: FolderState): Promise<void> {
    const seen = await scanFolder(s.dir);
    for (const [b, r] of seen) {
      const had = s.files.get(b);
      if (!had || had.sub !== r.sub || had.name !== r.name) s.files.set(b, r);
    }
    for (const b of s.files.keys()) if (!seen.has(b)) s.files.delete(b);
  }

  async openMessage(folder: string, uid: number): Promise<{ handle: FileHandle; size: number }> {
    // A file can move between the scan and open(); a few rounds settle it.
    const hit = await this.locate(folder, uid);
    let ref = hit?.ref ?? null;
    for (let attempt = 0; hit && ref && attempt < 5; attempt++) {
      try {
        const handle = await open(join(hit.s.dir, ref.sub, ref.name), 'r');
        return { handle, size: (await handle.stat()).size };
      } catch (e) {
        if (!isMissing(e)) throw e;
        ref = await this.moved(hit.s, hit.base, ref);
      }
    }
    throw new MaildirError('message is gone', 'not-found');
  }

  async readMessage(folder: string, uid: number): Promise<Buffer> {
    // What a first FETCH or a SEARCH TEXT over 100,000 messages pays per file:
    // read on the spot when cached (read-inline.ts), else the callback readFile
    // (open, fstat, read and close in one native chain through the pool).
    const hit = await this.locate(folder, uid);
    let ref = hit?.ref ?? null;
    for (let attempt = 0; hit && ref && attempt < 5; attempt++) {
      try {
        const path = join(hit.s.dir, ref.sub, ref.name);
        return readInline(path) ?? (await readFileNative(path));
      } catch (e) {
        if (!isMissing(e)) throw e;
        ref = await this.moved(hit.s, hit.base, ref);
      }
    }
    throw new MaildirError('message is gone', 'not-found');
  }

  async summaries(folder: string, uids: readonly number[]): Promise<Map<number, unknown>> {
    const out = new Map<number, unknown>();
    const s = await this.state(folder, uids);
    s.summaries ??= await FolderIndex.load(s.dir, SUMMARY_FILE);
    const cache = s.summaries;
    const missing: { uid: number; base: string; date: number | undefined }[] = [];
    for (const uid of uids) {
      const base = s.byUid.get(uid);
      if (!base) continue;
      const size = sizeInName(base);
      const entry = cache.get(base, size);
      if (entry?.summary !== undefined) out.set(uid, entry.summary);
      else if (this.opts.indexer) missing.push({ uid, base, date: s.index.get(base, size)?.date });
    }
    const indexer = this.opts.indexer;
    if (!indexer || missing.length === 0) return out;
    // Files are read a few at a time (the disk, not the parser, is the slow part of a first FETCH).
    await mapLimit(missing, SUMMARY_READERS, async (m) => {
      let bytes: Buffer;
      try {
        bytes = await this.readMessage(folder, m.uid);
      } catch (e) {
        if (e instanceof MaildirError && e.code === 'not-found') return;
        throw e;
      }
      const summary = await indexer(bytes);
      cache.set(m.base, { size: bytes.length, date: m.date ?? nameTime(m.base) ?? Date.now(), summary });
      out.set(m.uid, summary);
    });
    await cache.save().catch(() => {});
    // In the order asked for.
    return new Map(uids.filter((u) => out.has(u)).map((u) => [u, out.get(u)]));
  }

  // ---- changing ------------------------------------------------------------

  private async keywordTable(dir: string, flags: readonly string[]): Promise<KeywordTable> {
    const kws = flags.filter(isKeyword);
    return kws.length > 0 ? ensureKeywords(dir, kws, this.opts.lock) : readKeywords(dir);
  }

  /**
   * STORE. Runs under the folder lock, so that for every process the
   * UNCHANGEDSINCE test (RFC 7162 §3.1.3) and the change are one step, and
   * each change gets its modseq in the order it happened. A file whose letters
   * differ from the recorded ones was changed behind our back: it gets its
   * modseq first, and so fails a test against an older one. A STORE that
   * changes nothing keeps the message's modseq.
   */
  async setFlags(
    folder: string,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    opts: SetFlagsOptions = {},
  ): Promise<FlagUpdate[]> {
    const wanted = flags.map(normalizeFlag);
    let s = await this.state(folder, uids);
    const table = await this.keywordTable(s.dir, op === 'remove' ? [] : wanted);
    // Building the modseq state is a sync, which takes the lock itself.
    if ((await readModseq(s.dir))?.uidValidity !== s.list.uidValidity) s = await this.sync(folder);
    const st = s;
    return withLock(
      join(st.dir, FOLDER_LOCK_FILE),
      async () => {
        const ms = await readModseq(st.dir);
        if (!ms || ms.uidValidity !== st.list.uidValidity)
          throw new MaildirError('modification sequences unavailable', 'io');
        const find = () =>
          uids.flatMap((uid) => {
            const base = st.byUid.get(uid);
            const ref = base === undefined ? undefined : st.files.get(base);
            return base !== undefined && ref ? [{ uid, base, ref }] : [];
          });
        let targets = find();
        // Our view of the files may be old: one scan, after which what still differs happened behind our back.
        let scanned = false;
        if (targets.some((t) => modseqOf(ms, t.uid, t.ref.name) === null)) {
          await this.rescan(st);
          targets = find();
          scanned = true;
        }
        const out: FlagUpdate[] = [];
        const changes: ModseqChange[] = [];
        const changed: FlagUpdate[] = [];
        for (const target of targets) {
          let ref: FileRef | null = target.ref;
          let fresh = scanned;
          while (ref) {
            const current = lettersOf(ref.name);
            if (modseqOf(ms, target.uid, ref.name) === null) {
              if (!fresh) {
                ref = await this.moved(st, target.base, ref);
                fresh = true;
                continue;
              }
              await recordChanges(st.dir, [{ uid: target.uid, letters: current }]);
            }
            const modseq = ms.msgs.get(target.uid)?.modseq ?? ms.highest;
            if (opts.unchangedSince !== undefined && modseq > opts.unchangedSince) {
              out.push({ uid: target.uid, flags: lettersToFlags(current, table), modseq, modified: true });
              break;
            }
            const next = applyFlagOp(lettersToFlags(current, table), op, wanted);
            const letters = flagsToLetters(next, table, current);
            const t = targetName(target.base, letters);
            if (ref.sub === t.sub && ref.name === t.name) {
              out.push({ uid: target.uid, flags: next, modseq });
              break;
            }
            try {
              // Processes that do not take the lock may still rename: then our source is gone and we retry on theirs.
              await rename(join(st.dir, ref.sub, ref.name), join(st.dir, t.sub, t.name));
              st.files.set(target.base, t);
              const update: FlagUpdate = { uid: target.uid, flags: next, modseq };
              out.push(update);
              // new/ → cur/ with the same letters is no change of flags.
              if (letters !== current) {
                changes.push({ uid: target.uid, letters });
                changed.push(update);
              }
              break;
            } catch (e) {
              if (!isMissing(e)) throw e;
              ref = await this.moved(st, target.base, ref);
              fresh = true;
            }
          }
        }
        const given = await recordChanges(st.dir, changes);
        changed.forEach((u, i) => {
          u.modseq = given[i] as number;
        });
        return out;
      },
      this.opts.lock,
    );
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
      const t = targetName(saved.base, letters);
      s = await this.sync(folder, saved.publish, () => new Map([[saved.base, t]]));
    } catch (err) {
      await saved.discard();
      throw err;
    }
    await recordQuota(this.root, message.length, 1);
    const uid = s.list.uids.get(saved.base) as number;
    // Parsed now, while the bytes are in memory, not again at the first FETCH.
    if (this.opts.indexer)
      await this.remember(s.dir, async () => [
        [
          saved.base,
          {
            size: message.length,
            date: nameTime(saved.base) ?? Date.now(),
            summary: await this.opts.indexer?.(message),
          },
        ],
      ]);
    return { uidValidity: s.list.uidValidity, uid };
  }

  /** Appends summaries to a folder's summaries index; a failure only leaves them to be computed later. */
  private async remember(dir: string, entries: () => Promise<[string, IndexEntry][]>): Promise<void> {
    try {
      await appendIndexEntries(dir, SUMMARY_FILE, await entries());
    } catch {
      // A cache: the summary is computed when first asked for.
    }
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
    const done: { uid: number; base: string; size: number; ref: FileRef }[] = [];
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
            done.push({ uid: item.uid, base, size: item.size, ref: targetName(base, letters) });
            break;
          } catch (e) {
            if (!isMissing(e)) throw e;
            ref = await this.moved(src, item.base, ref);
          }
        }
      }
      await fsyncDir(join(dstDir, 'cur'));
    };
    const dst = await this.sync(to, place, () => new Map(done.map((d) => [d.base, d.ref])));
    // Same bytes, same summary: carry over what the source folder already knew.
    const known = src.summaries;
    if (known) {
      const srcBase = new Map(items.map((i) => [i.uid, i.base]));
      await this.remember(dstDir, async () =>
        done.flatMap((d): [string, IndexEntry][] => {
          const b = srcBase.get(d.uid) as string;
          const summary = known.get(b, parseName(b).size)?.summary;
          return summary === undefined
            ? []
            : [[d.base, { size: d.size, date: nameTime(d.base) ?? Date.now(), summary }]];
        }),
      );
    }
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
          const ref = await this.moved(hit.s, hit.base, hit.ref);
          hit = ref ? { ...hit, ref } : null;
        }
      }
    }
    await recordQuota(this.root, -bytes, -removed.length);
    if (removed.length > 0) await this.sync(folder);
    return removed;
  }
}
