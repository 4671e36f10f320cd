// @postamt/maildir — Maildir++ on the shared volume. Delivery (deliver) for
// the filter; the MailStore interface and its Maildir implementation for IMAP
// and POP3; quota, events and the lower-level pieces for tools and tests.
export { type Delivered, type DeliverOptions, deliver, ensureMaildir, releaseClaims } from './deliver.js';
export {
  type MailEvent,
  mailChannel,
  type Publish,
  publishMailEvent,
  redisPublisher,
  subscribeMailEvents,
  withEvents,
} from './events.js';
export { type FlagOp, normalizeFlag, SYSTEM_FLAGS } from './flags.js';
export { SPECIAL_USE } from './folders.js';
export { fsyncDirInline, fsyncDirSync, fsyncFd } from './fsutil.js';
export { INDEX_FILE, type IndexEntry, SUMMARY_FILE } from './index-cache.js';
export { KEYWORDS_FILE } from './keywords.js';
export {
  folderDir,
  folderDiskName,
  isInbox,
  MAX_FOLDER_NAME,
  MaildirError,
  type MaildirErrorCode,
  SEPARATOR,
  userMaildir,
} from './layout.js';
export { listMessages, type MessageFile, parseName } from './list.js';
export { FileLock, type LockOptions, withLock } from './lock.js';
export { MODSEQ_FILE, type ModseqState, readModseq, VANISHED_KEEP } from './modseq.js';
export { decodeMutf7, encodeMutf7 } from './mutf7.js';
export { checkQuota, MAILDIRSIZE_FILE, type QuotaLimit, type QuotaUsage, quotaUsage } from './quota.js';
export { INLINE_MAX_BYTES, readInline } from './read-inline.js';
export { MaildirStore, type MaildirStoreOptions } from './store.js';
export { type SyncResult, syncFolder, TMP_MAX_AGE_MS } from './sync.js';
export type {
  AppendOptions,
  CopyResult,
  FlagUpdate,
  FolderInfo,
  FolderSnapshot,
  Indexer,
  MailStore,
  MessageInfo,
  SetFlagsOptions,
  SpecialUse,
} from './types.js';
export { parseUidList, readUidList, UIDLIST_FILE, type UidList } from './uidlist.js';
