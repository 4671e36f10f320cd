// What the IMAP service needs from mail storage, and nothing more (the
// consumer owns the interface; STYLE.md §4). One MailStore per logged-in
// user; folder names are canonical Unicode names with "." as delimiter and
// "INBOX" for the root. Implementation: mail-store.ts, an adapter onto
// @postamt/maildir's MaildirStore.
//
// Errors: implementations throw @postamt/maildir's MaildirError;
// responses.ts maps its codes to IMAP replies in one place.
import type { MessageIndex } from '@postamt/mime';

export interface MessageMeta {
  uid: number;
  /** System flags (\Seen, ...) and keywords, never \Recent. */
  flags: string[];
  /** Octets as stored (RFC822.SIZE, the CRLF form, comes from the message index). */
  size: number;
  internalDate: Date;
}

export interface MailboxSnapshot {
  uidValidity: number;
  uidNext: number;
  /** In UID order. */
  messages: MessageMeta[];
  /** UIDs this opener is the first to see (RFC 3501 §2.3.2 \Recent). */
  recent: Set<number>;
  /** Keywords defined in this folder, for PERMANENTFLAGS/FLAGS. */
  keywords: string[];
}

export interface FolderInfo {
  name: string;
  /** RFC 6154 attribute, e.g. "\\Sent"; null for none. */
  specialUse: string | null;
  subscribed: boolean;
  hasChildren: boolean;
}

export interface FolderStatus {
  messages: number;
  unseen: number;
  recent: number;
  uidNext: number;
  uidValidity: number;
  size: number;
}

export interface CopyResult {
  uidValidity: number;
  /** [source uid, destination uid] for every message copied; vanished ones are left out. */
  pairs: Array<[number, number]>;
}

export type FlagOp = 'set' | 'add' | 'remove';

export interface MailStore {
  listFolders(): Promise<FolderInfo[]>;
  createFolder(name: string): Promise<void>;
  deleteFolder(name: string): Promise<void>;
  /** RFC 3501 §6.3.5: renaming INBOX moves its messages into a new folder and leaves INBOX empty. */
  renameFolder(from: string, to: string): Promise<void>;
  setSubscribed(name: string, on: boolean): Promise<void>;
  /** `claimRecent` false for EXAMINE/STATUS: nothing changes on disk. */
  open(name: string, claimRecent: boolean): Promise<MailboxSnapshot>;
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
  ): Promise<Map<number, string[]>>;
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

export interface StoreProvider {
  forUser(userKey: string): Promise<MailStore>;
}
