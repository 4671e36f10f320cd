// The IMAP MailStore on @postamt/maildir: one MaildirStore per user (UIDs,
// flags, folders, quota and the per-folder index cache all live there),
// decorated with withEvents so every change is published on the user's Redis
// channel, and given the @postamt/mime indexer so ENVELOPE, BODYSTRUCTURE and
// part offsets are computed once per message and served from the cache.
//
// \Recent (RFC 3501 §2.3.2): a message still in new/ has not been seen by any
// session; the session that SELECTs the folder claims it by renaming it to
// cur/ (as Dovecot does). rename() is atomic, so when several sessions — in
// any process — race, exactly one succeeds and only it reports \Recent.
import { rename } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import {
  type MailStore as Maildir,
  MaildirStore,
  type Publish,
  quotaUsage,
  userMaildir,
  withEvents,
} from '@postamt/maildir';
import { isSummary, type MessageIndex, summarizeMessage } from '@postamt/mime';
import { SharedFolders } from './shared-folders.js';
import type {
  CopyResult,
  FlagOp,
  FlagResult,
  FolderInfo,
  FolderStatus,
  MailboxSnapshot,
  MailStore,
  StoreProvider,
  UserStore,
} from './store.js';

/**
 * The indexer injected into MaildirStore (postamt-summaries.jsonl): the same
 * function the filter runs at delivery, so a summary written there is the one
 * this server would have computed.
 */
export const mimeIndexer = (bytes: Buffer) => summarizeMessage(bytes);

/** Renames each file new/<base> → cur/<base>:2, (no flags); returns the indexes this call moved. */
async function claim(paths: string[]): Promise<Set<number>> {
  const won = new Set<number>();
  await Promise.all(
    paths.map(async (path, i) => {
      const target = join(dirname(dirname(path)), 'cur', `${basename(path)}:2,`);
      // ENOENT: another session claimed it first (or it was expunged) — not ours.
      if (
        await rename(path, target).then(
          () => true,
          () => false,
        )
      )
        won.add(i);
    }),
  );
  return won;
}

export class MaildirAdapter implements MailStore {
  constructor(
    private readonly dir: Maildir,
    private readonly dataDir: string,
    private readonly root: string,
    private readonly quotaBytes: number,
  ) {}

  async listFolders(): Promise<FolderInfo[]> {
    return (await this.dir.listFolders()).map((f) => ({
      name: f.name,
      specialUse: f.specialUse ?? null,
      subscribed: f.subscribed,
      hasChildren: f.hasChildren,
      ...(f.noselect ? { noselect: true } : {}),
      ...(f.nonexistent ? { nonexistent: true } : {}),
    }));
  }

  createFolder(name: string): Promise<void> {
    return this.dir.createFolder(name);
  }

  deleteFolder(name: string): Promise<void> {
    return this.dir.deleteFolder(name);
  }

  renameFolder(from: string, to: string): Promise<void> {
    return this.dir.renameFolder(from, to);
  }

  setSubscribed(name: string, on: boolean): Promise<void> {
    return on ? this.dir.subscribe(name) : this.dir.unsubscribe(name);
  }

  async open(name: string, claimRecent: boolean): Promise<MailboxSnapshot> {
    let snap = await this.dir.open(name);
    const inNew = snap.messages.filter((m) => m.recent);
    const fresh = claimRecent ? await claim(inNew.map((m) => m.path)) : new Set<number>();
    // Let the store learn the new file names at once, not one lookup per message later; the
    // state after the claim is also the one the next open finds again (shared-folders.ts).
    if (fresh.size) snap = await this.dir.open(name);
    return {
      uidValidity: snap.uidValidity,
      uidNext: snap.uidNext,
      // The store's MessageInfo objects as they are: read-only (views replace, never change, an
      // entry) and shared by every session of the user, so a SELECT copies no message.
      messages: snap.messages,
      recent: new Set(inNew.filter((_, i) => fresh.has(i)).map((m) => m.uid)),
      keywords: snap.keywords,
      highestModseq: snap.highestModseq,
    };
  }

  async status(name: string): Promise<FolderStatus> {
    const snap = await this.dir.open(name);
    let unseen = 0;
    let recent = 0;
    let size = 0;
    for (const m of snap.messages) {
      if (!m.flags.includes('\\Seen')) unseen++;
      if (m.recent) recent++;
      size += m.size;
    }
    return {
      messages: snap.messages.length,
      unseen,
      recent,
      uidNext: snap.uidNext,
      uidValidity: snap.uidValidity,
      size,
      highestModseq: snap.highestModseq,
    };
  }

  async read(name: string, uid: number, limit?: number): Promise<Buffer> {
    if (limit === undefined) return this.dir.readMessage(name, uid);
    const { handle, size } = await this.dir.openMessage(name, uid);
    try {
      const buf = Buffer.alloc(Math.min(size, limit));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async summaries(name: string, uids: readonly number[]): Promise<Map<number, MessageIndex>> {
    const out = new Map<number, MessageIndex>();
    for (const [uid, s] of await this.dir.summaries(name, uids)) if (isSummary(s)) out.set(uid, s);
    return out;
  }

  async setFlags(
    name: string,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    unchangedSince?: number,
  ): Promise<Map<number, FlagResult>> {
    const opts = unchangedSince === undefined ? {} : { unchangedSince };
    const updates = await this.dir.setFlags(name, uids, op, flags, opts);
    return new Map(
      updates.map((u) => [
        u.uid,
        { flags: u.flags, modseq: u.modseq, ...(u.modified ? { modified: true } : {}) },
      ]),
    );
  }

  expungedSince(name: string, modseq: number): Promise<number[] | null> {
    return this.dir.expungedSince(name, modseq);
  }

  append(name: string, data: Buffer, flags: string[], date: Date | null) {
    return this.dir.append(name, data, { flags, ...(date ? { date } : {}) });
  }

  copy(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return this.dir.copy(from, uids, to);
  }

  move(from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return this.dir.move(from, uids, to);
  }

  expunge(name: string, uids: readonly number[]): Promise<number[]> {
    return this.dir.expunge(name, uids);
  }

  async files(name: string, uids: readonly number[]): Promise<Map<number, string>> {
    const want = new Set(uids);
    const out = new Map<number, string>();
    for (const m of (await this.dir.open(name)).messages)
      if (want.has(m.uid)) out.set(m.uid, relative(this.dataDir, m.path));
    return out;
  }

  async quota(): Promise<{ usedKiB: number; limitKiB: number } | null> {
    if (this.quotaBytes <= 0) return null;
    const usage = await quotaUsage(this.root, { bytes: this.quotaBytes });
    return { usedKiB: Math.ceil(usage.bytes / 1024), limitKiB: Math.ceil(this.quotaBytes / 1024) };
  }
}

export interface MaildirProviderOptions {
  dataDir: string;
  /** Host part of new message file names. */
  hostname: string;
  /** The user's storage quota in bytes; 0 for none. */
  quotaOf(userKey: string): Promise<number>;
  /** Publishes the user's mail events (withEvents); null in tools that need no events. */
  publisher: ((userKey: string) => Publish) | null;
  onPublishError?: (err: unknown) => void;
}

/** A store outlives its last session by this long: clients reconnect often (a new session per folder, after sleep). */
const KEEP_MS = 60_000;
/** At most this many stores are kept that way (their folder state can be megabytes for a big folder). */
const KEEP_MAX = 256;

/**
 * One store per user and process, shared by all of the user's sessions (its
 * folder state is the big part of a session's memory); it is dropped when
 * the last session lets go of it and KEEP_MS have passed since the last
 * login. Quota is read when the store is made.
 */
export class MaildirStoreProvider implements StoreProvider {
  private readonly live = new Map<string, WeakRef<UserStore>>();
  private readonly kept = new Map<string, { store: UserStore; timer: NodeJS.Timeout }>();
  private readonly gone = new FinalizationRegistry<string>((key) => {
    if (!this.live.get(key)?.deref()) this.live.delete(key);
  });

  constructor(private readonly opts: MaildirProviderOptions) {}

  private keep(userKey: string, store: UserStore): UserStore {
    const had = this.kept.get(userKey);
    if (had) {
      clearTimeout(had.timer);
      this.kept.delete(userKey);
    } else if (this.kept.size >= KEEP_MAX) {
      const [oldest, entry] = this.kept.entries().next().value as [string, { timer: NodeJS.Timeout }];
      clearTimeout(entry.timer);
      this.kept.delete(oldest);
    }
    const timer = setTimeout(() => this.kept.delete(userKey), KEEP_MS);
    timer.unref();
    this.kept.set(userKey, { store, timer });
    return store;
  }

  async forUser(userKey: string): Promise<UserStore> {
    const cached = this.live.get(userKey)?.deref();
    if (cached) return this.keep(userKey, cached);
    const { dataDir, hostname, publisher, onPublishError } = this.opts;
    const root = userMaildir(dataDir, userKey);
    const bytes = await this.opts.quotaOf(userKey);
    const base = new MaildirStore({ root, host: hostname, quota: { bytes }, indexer: mimeIndexer });
    const store = publisher ? withEvents(base, publisher(userKey), onPublishError) : base;
    // Sessions of the user in this process share folder reads and state (shared-folders.ts).
    const adapter = new SharedFolders(new MaildirAdapter(store, dataDir, root, bytes));
    const raced = this.live.get(userKey)?.deref();
    if (raced) return this.keep(userKey, raced);
    this.live.set(userKey, new WeakRef(adapter));
    this.gone.register(adapter, userKey);
    return this.keep(userKey, adapter);
  }
}
