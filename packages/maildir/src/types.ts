// The storage interface the IMAP and POP3 servers program against (STYLE §4:
// narrow, owned by its consumers, implementation passed in). One MailStore is
// one user's mailboxes. Folder names are Unicode strings with '.' as the
// hierarchy separator; 'INBOX' in any case is the root. IMAP servers convert
// wire names with decodeMutf7/encodeMutf7 (or use UTF-8 under UTF8=ACCEPT).
// Failures are MaildirError with a code the protocol maps in one function.
import type { FileHandle } from 'node:fs/promises';
import type { FlagOp } from './flags.js';

export interface MessageInfo {
  uid: number;
  /** Stable file identity (never changes while the message lives; a POP3 UIDL candidate). */
  readonly base: string;
  /** Where the file was at snapshot time; use openMessage/readMessage, which find it if it moved. */
  path: string;
  /** Octets as stored (LF or CRLF as delivered). */
  size: number;
  /** System flags (\Seen \Answered \Flagged \Deleted \Draft) and keywords. */
  flags: string[];
  internalDate: Date;
  /** Still in new/: not yet seen by any IMAP session (the old \Recent). */
  recent: boolean;
  /** RFC 7162 mod-sequence: of the last change of the flags, or of the arrival. */
  modseq: number;
}

export interface FolderSnapshot {
  folder: string;
  uidValidity: number;
  uidNext: number;
  /** Ascending UID order; message sequence number = index + 1. Shared by every caller: read-only. */
  messages: readonly MessageInfo[];
  /** Keywords defined in this folder (for FLAGS / PERMANENTFLAGS). */
  keywords: string[];
  /** RFC 7162 HIGHESTMODSEQ: the last change in the folder, expunges included. */
  highestModseq: number;
}

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Junk' | '\\Trash' | '\\Archive';

export interface FolderInfo {
  name: string;
  specialUse?: SpecialUse;
  subscribed: boolean;
  hasChildren: boolean;
  /** A parent name kept only by its children (RFC 3501 §6.3.4): listed \Noselect, cannot be opened. */
  noselect?: boolean;
  /** Subscribed, but no such folder (RFC 3501 §6.3.9: subscriptions outlive their folder). */
  nonexistent?: boolean;
}

export interface FlagUpdate {
  uid: number;
  flags: string[];
  /** The message's mod-sequence after the call. */
  modseq: number;
  /** Left alone: its modseq was above `unchangedSince` (RFC 7162 MODIFIED). `flags` are its current ones. */
  modified?: true;
}

export interface SetFlagsOptions {
  /** RFC 7162 UNCHANGEDSINCE: change only messages whose modseq is at most this. */
  unchangedSince?: number;
}

export interface CopyResult {
  /** UIDVALIDITY of the target folder (RFC 4315 COPYUID). */
  uidValidity: number;
  /** [source UID, target UID] for every message copied; UIDs that were gone are left out. */
  pairs: [number, number][];
}

export interface AppendOptions {
  flags?: string[];
  /** Internal date; default now. */
  date?: Date;
}

export interface MailStore {
  listFolders(): Promise<FolderInfo[]>;
  createFolder(name: string): Promise<void>;
  /** Removes the folder and its messages; children stay and keep the name as \Noselect. Refuses INBOX. */
  deleteFolder(name: string): Promise<void>;
  /** Renames the folder and its hierarchy children. Renaming INBOX moves its messages. */
  renameFolder(from: string, to: string): Promise<void>;
  subscribe(name: string): Promise<void>;
  unsubscribe(name: string): Promise<void>;

  /** Synchronises the UID list and returns the folder as it is now. */
  open(folder: string): Promise<FolderSnapshot>;
  /** Opens a message for reading; the caller closes the handle. 'not-found' if expunged. */
  openMessage(folder: string, uid: number): Promise<{ handle: FileHandle; size: number }>;
  readMessage(folder: string, uid: number): Promise<Buffer>;
  /** The indexer's summary of each message, computed once and cached in the folder index. */
  summaries(folder: string, uids: readonly number[]): Promise<Map<number, unknown>>;

  setFlags(
    folder: string,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    opts?: SetFlagsOptions,
  ): Promise<FlagUpdate[]>;
  /**
   * UIDs expunged after `modseq` (RFC 7162 VANISHED (EARLIER)), ascending, as
   * of the last open(); null when that is older than the folder remembers.
   */
  expungedSince(folder: string, modseq: number): Promise<number[] | null>;
  append(
    folder: string,
    message: Buffer,
    opts?: AppendOptions,
  ): Promise<{ uidValidity: number; uid: number }>;
  copy(from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  /** Copy then remove, atomically per message (one rename). */
  move(from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  /** Removes exactly these messages (IMAP passes its \Deleted ones, POP3 its DELEs); returns the UIDs removed. */
  expunge(folder: string, uids: readonly number[]): Promise<number[]>;
}

/** Computes a message's summary (e.g. ENVELOPE and BODYSTRUCTURE); must be JSON-serialisable. */
export type Indexer = (message: Buffer) => unknown | Promise<unknown>;
