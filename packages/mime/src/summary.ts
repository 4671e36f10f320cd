// The per-message summary stored in the Maildir summaries index: the MIME
// index (ENVELOPE, BODY, BODYSTRUCTURE, part offsets) plus the header fields
// clients search and sort by, kept byte for byte so a SEARCH over them is the
// very same parse as over the file. One function, called by the filter at
// delivery and by the IMAP server for APPEND, COPY/MOVE and any message that
// arrived without one (a crash between link and index, mail from elsewhere).
import { readHeaderFields } from './header-parser.js';
import { indexMessage } from './indexer.js';
import type { IndexLimits, MessageIndex } from './types.js';

/** Header fields kept in `heads` (Dovecot keeps the same in dovecot.index.cache). */
export const SUMMARY_HEADS: ReadonlySet<string> = new Set([
  'subject',
  'from',
  'to',
  'cc',
  'bcc',
  'date',
  'sender',
  'reply-to',
  'message-id',
  'in-reply-to',
  'references',
]);

/** Above this many bytes the fields are not kept (SEARCH then reads the file for that message). */
export const MAX_HEADS = 16 * 1024;

export interface MessageSummary extends MessageIndex {
  /** The SUMMARY_HEADS fields as raw latin1 text, in file order; absent if over MAX_HEADS. */
  heads?: string;
}

export function extractHeads(bytes: Buffer, index: MessageIndex): string | undefined {
  const root = index.root;
  const s = bytes.toString('latin1', 0, root.pos + root.header.physical);
  let out = '';
  for (const f of readHeaderFields(s, root.pos, s.length)) {
    if (!SUMMARY_HEADS.has(f.name.toLowerCase())) continue;
    out += s.slice(f.start, f.end);
    if (out.length > MAX_HEADS) return undefined;
  }
  return out;
}

/** Parses a message once; the result is plain JSON for the summaries index. */
export function summarizeMessage(bytes: Buffer, limits: Partial<IndexLimits> = {}): MessageSummary {
  const index = indexMessage(bytes, limits);
  const heads = extractHeads(bytes, index);
  return heads === undefined ? index : { ...index, heads };
}

/** A summary as read back from the index: only what this version writes is trusted. */
export function isSummary(v: unknown): v is MessageSummary {
  return typeof v === 'object' && v !== null && (v as MessageIndex).version === 1;
}
