// Bringing a folder's UID list in line with its files (Dovecot's
// maildir-sync.c). Readers first compare without the lock — the common case,
// nothing changed, costs two readdirs and one read and never blocks. Only when
// files appeared or vanished does the sync take the folder lock, re-read the
// list and re-scan, so two processes never hand out the same UID:
//   - bases not in the list get the next UIDs, in arrival order;
//   - bases in the list but not on disk are dropped — after a second scan
//     confirms it, because a file renamed during readdir can be missed once;
//   - the next UID never goes down, so a dropped UID is never reused;
//   - new, dropped and renamed-with-other-flags messages get modseqs
//     (modseq.ts), so the fast path also compares every file's flag letters
//     with the recorded ones: a rename behind our back takes the lock too.
//     After a first full comparison only the names that differ from the
//     last checked listing, and the files of UIDs that got a modseq since,
//     are compared (Checked).
// Every step leaves the folder consistent, so a crash anywhere needs no
// special repair: the next sync finishes the job, breaks the dead holder's
// lock, and removes what the crash left in tmp/.
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureMaildir } from './deliver.js';
import { isMissing } from './fsutil.js';
import { MaildirError } from './layout.js';
import { type LockOptions, withLock } from './lock.js';
import { changedSince, hasLetters, MODSEQ_FILE, type ModseqState, readModseq, syncModseq } from './modseq.js';
import { baseOf, compareBases, type FileRef, type Listing, listFolder, scanFolder } from './scan.js';
import {
  appendUidList,
  FOLDER_LOCK_FILE,
  newUidValidity,
  readUidList,
  UIDLIST_FILE,
  type UidList,
  writeUidList,
} from './uidlist.js';

/** Maildir spec: a tmp/ file untouched for 36 hours is garbage (delivery claims included). */
export const TMP_MAX_AGE_MS = 36 * 3600 * 1000;
/** Our own temporary list files are garbage once the writer is gone; under the lock that is any old one. */
const LIST_TMP_MAX_AGE_MS = 60 * 1000;

export interface SyncResult {
  list: UidList;
  files: Map<string, FileRef>;
  /** UIDs given out by this sync. */
  added: number[];
  /** UIDs dropped by this sync because their files are gone. */
  removed: number[];
  /** Set when only the placed files were looked at (`files` holds just them, see SyncOptions.placed). */
  partial?: boolean;
  /** With `partial`: the list that was extended (the new one differs from it only by the placed files). */
  from?: UidList;
  /** Modification sequences in step with `list` and `files` (modseq.ts; shared, read it synchronously). */
  modseq: ModseqState;
  /** Set when new/ and cur/ had settled before the scan: pass it back as SyncOptions.known. */
  known?: KnownScan;
  /** The raw listing `files` was made from, when it was made from one listing (scan.ts diffListings). */
  listing?: Listing;
  /** Set when every file of `listing` was found in step with `list` and the modseqs: pass it back as SyncOptions.checked. */
  checked?: Checked;
}

/**
 * A listing whose every file had its base in `list` and the letters recorded
 * up to modseq `highest`. While the UID list is the same, a later listing
 * needs only its other names checked, plus the files of the UIDs that got a
 * modseq since — after 100 changes in a 100,000-message folder, a few hundred
 * lookups instead of 200,000.
 */
export interface Checked {
  listing: Listing;
  list: UidList;
  highest: number;
}

/**
 * A fast-path result as of one look at new/ and cur/. While neither directory
 * changed since (same mtime and ctime), the files are the ones listed then, so
 * a sync that also finds the same UID list and modseq state (modseqMark) needs
 * no readdir and no comparison of every file — what a warm SELECT of a
 * 100,000-message folder would otherwise pay (Dovecot's maildir sync checks
 * the directory times the same way). Only trusted stamps are recorded
 * (trustedStamp): a change in the same clock tick as an earlier one may leave
 * the time as it was.
 */
export interface KnownScan {
  stamp: string;
  files: Map<string, FileRef>;
  list: UidList;
  modseq: ModseqState;
  mark: string;
  listing: Listing;
}

const SETTLE_MS = 2000;

/**
 * Written to read the file system's own clock (see fsNow). Not a message file:
 * it lives beside the UID list, outside new/ and cur/.
 */
const CLOCK_FILE = 'postamt-clock';

interface DirTimes {
  key: string;
  /** The latest of the mtimes and ctimes of new/ and cur/. */
  latestNs: bigint;
}

/** new/ and cur/ as of now (identity and times); null when either is missing. */
async function dirTimes(dir: string): Promise<DirTimes | null> {
  try {
    const [n, c] = await Promise.all([
      stat(join(dir, 'new'), { bigint: true }),
      stat(join(dir, 'cur'), { bigint: true }),
    ]);
    let latestNs = 0n;
    for (const t of [n.mtimeNs, n.ctimeNs, c.mtimeNs, c.ctimeNs]) if (t > latestNs) latestNs = t;
    return {
      key: `${n.dev}:${n.ino}:${n.mtimeNs}:${n.ctimeNs} ${c.dev}:${c.ino}:${c.mtimeNs}:${c.ctimeNs}`,
      latestNs,
    };
  } catch {
    return null;
  }
}

/**
 * The file system's clock now, in ns: the mtime a one-byte write gives
 * CLOCK_FILE. It is the clock that stamps new/ and cur/ too, whatever its
 * granularity and wherever it runs (an NFS server's); null when the file
 * cannot be written.
 */
async function fsNow(dir: string): Promise<bigint | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(join(dir, CLOCK_FILE), 'w', 0o600);
    await fh.write('.');
    return (await fh.stat({ bigint: true })).mtimeNs;
  } catch {
    return null;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * The stamp of new/ and cur/ to record with a listing made after this call
 * (KnownScan), or null when it cannot be trusted. Any later change to either
 * directory must change the stamp, which a change in the same clock tick as
 * the last one may not do. Trusted when the directories had not changed for
 * SETTLE_MS by our clock; else — just after a change, ours or another's —
 * when the file system's clock has moved past their times: CLOCK_FILE is
 * written first and the directories looked at after it, so times below its
 * mtime mean no change since the write, and every later change gets a time
 * at least that (the racy-git rule). On a file system whose clock ticks
 * coarsely this fails within the tick; then the next sync lists again.
 */
async function trustedStamp(dir: string): Promise<string | null> {
  const now = await dirTimes(dir);
  if (!now) return null;
  if (now.latestNs < BigInt(Date.now() - SETTLE_MS) * 1_000_000n) return now.key;
  const clock = await fsNow(dir);
  if (clock === null) return null;
  const after = await dirTimes(dir);
  return after && after.latestNs < clock ? after.key : null;
}

/** Any recorded change raises `highest`; a reload makes a new state object. */
const modseqMark = (m: ModseqState): string =>
  `${m.uidValidity} ${m.highest} ${m.msgs.size} ${m.vanished.length} ${m.floor}`;

async function folderExists(dir: string): Promise<void> {
  try {
    await stat(dir);
  } catch (e) {
    if (isMissing(e)) throw new MaildirError('no such folder', 'not-found');
    throw e;
  }
  // A crash while creating the folder may have left cur/ new/ tmp/ incomplete.
  await ensureMaildir(dir);
}

async function cleanGarbage(dir: string): Promise<void> {
  const now = Date.now();
  const tmpDir = join(dir, 'tmp');
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const st = await stat(join(tmpDir, name)).catch(() => null);
    if (st && now - st.mtimeMs > TMP_MAX_AGE_MS) await unlink(join(tmpDir, name)).catch(() => {});
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const ours = name.startsWith(`${UIDLIST_FILE}.`) || name.startsWith(`${MODSEQ_FILE}.`);
    if (!ours || !(name.endsWith('.tmp') || name.endsWith('.stale'))) continue;
    const st = await stat(join(dir, name)).catch(() => null);
    if (st && now - st.mtimeMs > LIST_TMP_MAX_AGE_MS) await unlink(join(dir, name)).catch(() => {});
  }
}

export interface SyncOptions {
  lock?: LockOptions;
  /**
   * Runs under the folder lock just before the scan — APPEND, COPY and MOVE
   * make their files visible here, so no other process can sync (and expunge)
   * the new message before this sync has given it its UID.
   */
  mutate?: () => Promise<void>;
  /**
   * With `mutate`: the files it placed (base → file). They get their UIDs
   * without a scan of the folder — an APPEND to a 100,000-message folder
   * costs its own line in the list, not two directory listings. Files others
   * delivered meanwhile keep waiting for the next full sync (they get later
   * UIDs, which RFC 9051 §2.3.1.1 allows: UIDs ascend in the order given
   * out), and vanished ones are dropped then.
   */
  placed?: () => Map<string, FileRef>;
  /** The `known` of an earlier result for this folder (see KnownScan). */
  known?: KnownScan;
  /** The `checked` of an earlier result for this folder, with the UID → base map of its list. */
  checked?: Checked;
  byUid?: ReadonlyMap<number, string>;
}

/** Names that may differ from a `checked` listing before every name is checked again. */
const stepLimit = (list: UidList) => Math.max(64, list.uids.size >> 4);

export async function syncFolder(dir: string, opts: SyncOptions = {}): Promise<SyncResult> {
  await folderExists(dir);
  const first = await readUidList(dir);
  if (!opts.mutate) {
    const was = opts.known;
    // A recorded stamp was trusted (trustedStamp): the same stamp now means the same files.
    const same = was ? (await dirTimes(dir))?.key === was.stamp : false;
    if (was && same && first.list === was.list) {
      const modseq = await readModseq(dir);
      if (modseq === was.modseq && modseqMark(modseq) === was.mark)
        return {
          list: first.list,
          files: was.files,
          added: [],
          removed: [],
          modseq,
          known: was,
          listing: was.listing,
        };
    }
    // One pass over the listing: every file's base must be in the list and
    // its letters the recorded ones — flags changed behind our back need the
    // lock too. The state is read before the scan and must not move during
    // it (it is updated in place), so all files are checked against one state.
    const list = first.list;
    const modseq = list ? await readModseq(dir) : null;
    // Taken before the scan, so the scan is at least as new as the stamp.
    const stamp = list && modseq ? await trustedStamp(dir) : null;
    if (list && modseq && modseq.uidValidity === list.uidValidity && modseq.msgs.size === list.uids.size) {
      const mark = modseqMark(modseq);
      const check = (base: string, name: string) => {
        const uid = list.uids.get(base);
        const e = uid === undefined ? undefined : modseq.msgs.get(uid);
        return e !== undefined && hasLetters(name, e.letters);
      };
      const prior = opts.checked?.list === list && opts.byUid ? opts.checked : undefined;
      const scan = await listFolder(dir, check, prior?.listing, stepLimit(list));
      const { files: seen, listing } = scan;
      let checked = scan.checked;
      if (checked && prior && scan.gone) {
        // Names also in the prior listing were in step then; they still are unless their base left
        // the list (then its file is among `gone`) or their UID got a modseq since (then it is logged).
        for (const name of scan.gone) {
          const base = baseOf(name);
          if (!seen.has(base) && list.uids.has(base)) checked = false;
        }
        const logged = changedSince(modseq, prior.highest);
        if (!logged) for (const [base, ref] of seen) checked &&= check(base, ref.name);
        else
          for (const uid of logged) {
            const base = opts.byUid?.get(uid);
            const ref = base === undefined ? undefined : seen.get(base);
            if (base !== undefined && (!ref || !check(base, ref.name))) checked = false;
          }
      }
      // Every file is listed, with its recorded letters, and no listed UID lacks a file.
      if (checked && seen.size === list.uids.size && modseqMark(modseq) === mark) {
        const known = stamp ? { stamp, files: seen, list, modseq, mark, listing } : undefined;
        return {
          list,
          files: seen,
          added: [],
          removed: [],
          modseq,
          listing,
          checked: { listing, list, highest: modseq.highest },
          ...(known ? { known } : {}),
        };
      }
    }
  }

  return withLock(
    join(dir, FOLDER_LOCK_FILE),
    async () => {
      await opts.mutate?.();
      const { list: old, compact } = await readUidList(dir);
      const placed = opts.placed?.();
      if (placed && old && !compact && [...placed.keys()].every((b) => !old.uids.has(b))) {
        const list: UidList = { uidValidity: old.uidValidity, nextUid: old.nextUid, uids: new Map(old.uids) };
        const bases = [...placed.keys()].sort(compareBases);
        const added = bases.map((base) => {
          list.uids.set(base, list.nextUid);
          return list.nextUid++;
        });
        await appendUidList(
          dir,
          bases.map((b, i) => [b, added[i] as number] as const),
          [],
          list,
        );
        const modseq = await syncModseq(dir, list, placed, placed.keys());
        return { list, files: placed, added, removed: [], partial: true, from: old, modseq };
      }
      // Right after our own changes (EXPUNGE, a first sync) the file system's clock mostly
      // has moved on already: the next sync then needs no listing (trustedStamp).
      const stamp = await trustedStamp(dir);
      const { files, listing } = await listFolder(dir);
      let missing = old ? [...old.uids.keys()].filter((b) => !files.has(b)) : [];
      let merged = false;
      if (missing.length > 0) {
        const again = await scanFolder(dir);
        for (const base of missing) {
          const ref = again.get(base);
          if (ref) {
            files.set(base, ref);
            merged = true;
          }
        }
        missing = missing.filter((b) => !files.has(b));
      }
      const list: UidList = old
        ? { uidValidity: old.uidValidity, nextUid: old.nextUid, uids: new Map() }
        : { uidValidity: newUidValidity(first.list?.uidValidity), nextUid: 1, uids: new Map() };
      const removed: number[] = [];
      if (old) {
        for (const [base, uid] of old.uids) {
          if (files.has(base)) list.uids.set(base, uid);
          else removed.push(uid);
        }
      }
      const fresh = [...files.keys()].filter((b) => !list.uids.has(b)).sort(compareBases);
      const added: number[] = [];
      for (const base of fresh) {
        list.uids.set(base, list.nextUid);
        added.push(list.nextUid);
        list.nextUid++;
      }
      if (!old || compact) await writeUidList(dir, list);
      else if (added.length > 0 || removed.length > 0)
        await appendUidList(
          dir,
          added.map((uid, i) => [fresh[i] as string, uid] as const),
          removed,
          list,
        );
      const modseq = await syncModseq(dir, list, files);
      await cleanGarbage(dir);
      // Files found by the second scan are not in the first listing.
      if (merged) return { list, files, added, removed, modseq };
      const known = stamp ? { stamp, files, list, modseq, mark: modseqMark(modseq), listing } : undefined;
      return {
        list,
        files,
        added,
        removed,
        modseq,
        listing,
        checked: { listing, list, highest: modseq.highest },
        ...(known ? { known } : {}),
      };
    },
    opts.lock,
  );
}
