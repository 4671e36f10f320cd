// What the IMAP service needs from mail storage, and nothing more (the
// consumer owns the interface; STYLE.md §4). One MailStore per logged-in
// user; folder names are canonical Unicode names with "." as delimiter and
// "INBOX" for the root. Implementations: store-maildir.ts.
//
// Errors: implementations throw StoreError with a code; responses.ts maps
// codes to IMAP replies in one place.

export type StoreErrorCode =
  | 'nonexistent' // RFC 5530 [NONEXISTENT]
  | 'exists' // [ALREADYEXISTS]
  | 'invalid-name' // [CANNOT]
  | 'cannot' // operation not allowed on this mailbox (e.g. DELETE INBOX)
  | 'over-quota' // [OVERQUOTA]
  | 'expunged' // message vanished meanwhile [EXPUNGEISSUED]
  | 'in-use' // lock contention [INUSE]
  | 'io'; // everything else: temporary [UNAVAILABLE]

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface MessageMeta {
  uid: number;
  /** System flags (\Seen, ...) and keywords, never \Recent. */
  flags: string[];
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
  /** Keywords ever used in this folder, for PERMANENTFLAGS/FLAGS. */
  keywords: string[];
}

export interface FolderInfo {
  name: string;
  /** RFC 6154 attribute, e.g. "\\Sent"; null for none. */
  specialUse: string | null;
  subscribed: boolean;
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
  /** [source uid, destination uid] in the order given. */
  pairs: Array<[number, number]>;
}

export interface MailStore {
  listFolders(): Promise<FolderInfo[]>;
  createFolder(name: string, specialUse?: string | null): Promise<void>;
  deleteFolder(name: string): Promise<void>;
  /** RFC 3501 §6.3.5: renaming INBOX moves its messages into a new folder and leaves INBOX empty. */
  renameFolder(from: string, to: string): Promise<void>;
  setSubscribed(name: string, on: boolean): Promise<void>;
  /** `claimRecent` false for EXAMINE/STATUS: nothing changes on disk. */
  open(name: string, claimRecent: boolean): Promise<MailboxSnapshot>;
  status(name: string): Promise<FolderStatus>;
  read(name: string, uid: number): Promise<Buffer>;
  /** Replaces the flags of each message; returns the new flags per UID (missing UIDs are skipped). */
  setFlags(
    name: string,
    changes: ReadonlyArray<{ uid: number; flags: string[] }>,
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
  /** RFC 9208 STORAGE in KiB; null when the user has no quota. */
  quota(): Promise<{ usedKiB: number; limitKiB: number } | null>;
  /** Calls `onChange` soon after another process changes the folder; returns the stop function. */
  watch(name: string, onChange: () => void): () => void;
}

export interface StoreProvider {
  forUser(userKey: string): Promise<MailStore>;
}
