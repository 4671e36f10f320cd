// What the IMAP service needs from mail storage, and nothing more (the
// consumer owns the interface; STYLE.md §4). One MailStore per logged-in
// user; folder names are canonical Unicode names with "." as delimiter and
// "INBOX" for the root. Implementation: mail-store.ts, an adapter onto
// @postamt/maildir's MaildirStore.
//
// Errors: implementations throw @postamt/maildir's MaildirError;
// responses.ts maps its codes to IMAP replies in one place.
import type { MessageIndex } from '@postamt/mime';
import type { FolderSnap } from './folder-snapshot.js';

export interface MessageMeta {
  uid: number;
  /** System flags (\Seen, ...) and keywords, never \Recent. */
  flags: string[];
  /** Octets as stored (RFC822.SIZE, the CRLF form, comes from the message index). */
  size: number;
  internalDate: Date;
  /** RFC 7162 mod-sequence of the message's last change. */
  modseq: number;
}

export interface MailboxSnapshot {
  uidValidity: number;
  uidNext: number;
  /** In UID order; read-only, shared with other sessions. */
  messages: readonly MessageMeta[];
  /** UIDs this opener is the first to see (RFC 3501 §2.3.2 \Recent). */
  recent: ReadonlySet<number>;
  /** Keywords defined in this folder, for PERMANENTFLAGS/FLAGS. */
  keywords: readonly string[];
  /** RFC 7162 HIGHESTMODSEQ. */
  highestModseq: number;
  /** The same state as one immutable object shared by every session that opened it (shared-folders.ts). */
  shared?: FolderSnap;
  /** When the read that found this state started, on shared-folders.ts's read clock; absent: just now. */
  readAt?: number;
}

export interface FolderInfo {
  name: string;
  /** RFC 6154 attribute, e.g. "\\Sent"; null for none. */
  specialUse: string | null;
  subscribed: boolean;
  hasChildren: boolean;
  /** Only a name its children keep (RFC 3501 §6.3.4): LIST says \Noselect; SELECT and STATUS fail. */
  noselect?: boolean;
  /** Only the subscription list has the name (RFC 3501 §6.3.9): LSUB and LIST (SUBSCRIBED) show it. */
  nonexistent?: boolean;
}

export interface FolderStatus {
  messages: number;
  unseen: number;
  recent: number;
  uidNext: number;
  uidValidity: number;
  size: number;
  highestModseq: number;
}

export interface CopyResult {
  uidValidity: number;
  /** [source uid, destination uid] for every message copied; vanished ones are left out. */
  pairs: Array<[number, number]>;
}

export type FlagOp = 'set' | 'add' | 'remove';

export interface FlagResult {
  flags: string[];
  modseq: number;
  /** Not changed: modified since UNCHANGEDSINCE (RFC 7162 §3.1.3); `flags` are the current ones. */
  modified?: true;
}

export interface MailStore {
  listFolders(): Promise<FolderInfo[]>;
  createFolder(name: string): Promise<void>;
  deleteFolder(name: string): Promise<void>;
  /** RFC 3501 §6.3.5: renaming INBOX moves its messages into a new folder and leaves INBOX empty. */
  renameFolder(from: string, to: string): Promise<void>;
  setSubscribed(name: string, on: boolean): Promise<void>;
  /**
   * `claimRecent` false for EXAMINE/STATUS: nothing changes on disk. A state read after the call,
   * or, with `readAfter` (a moment of shared-folders.ts's read clock), one read after that moment.
   */
  open(name: string, claimRecent: boolean, readAfter?: number): Promise<MailboxSnapshot>;
  status(name: string): Promise<FolderStatus>;
  /** The message bytes as stored; with `limit`, at most that many from the start. */
  read(name: string, uid: number, limit?: number): Promise<Buffer>;
  /** The cached MIME index of each message (computed once, on first use); expunged UIDs are missing. */
  summaries(name: string, uids: readonly number[]): Promise<Map<number, MessageIndex>>;
  /** Returns the new flags per UID (vanished UIDs are left out). */
  setFlags(
    name: string,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    unchangedSince?: number,
  ): Promise<Map<number, FlagResult>>;
  /** UIDs expunged after `modseq` as of the last open (RFC 7162 VANISHED); null: not remembered that far. */
  expungedSince(name: string, modseq: number): Promise<number[] | null>;
  append(
    name: string,
    data: Buffer,
    flags: string[],
    date: Date | null,
  ): Promise<{ uidValidity: number; uid: number }>;
  copy(from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  move(from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  /** Removes these messages; returns the UIDs actually removed. */
  expunge(name: string, uids: readonly number[]): Promise<number[]>;
  /** Message files by UID, relative to the data volume (for learn jobs). */
  files(name: string, uids: readonly number[]): Promise<Map<number, string>>;
  /** RFC 9208 STORAGE in KiB; null when the user has no quota. */
  quota(): Promise<{ usedKiB: number; limitKiB: number } | null>;
}

/** What the sessions of a user share per folder (shared-folders.ts). */
export interface FolderWatch {
  /** The folder may have changed (a mail event): read it soon, for its watchers. */
  changed(name: string): void;
  /**
   * IDLE: `fn` gets each new state of the folder (with \Recent claimed for one claiming watcher);
   * the folder is read at least every `pollMs` while anyone watches it. Returns the stop function.
   */
  watch(name: string, claimRecent: boolean, pollMs: number, fn: (snap: MailboxSnapshot) => void): () => void;
}

/** A user's store as sessions see it. */
export type UserStore = MailStore & FolderWatch;

export interface StoreProvider {
  forUser(userKey: string): Promise<UserStore>;
}
