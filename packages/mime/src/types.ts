// The serialisable message index: computed once at delivery, stored next to the
// message, read by FETCH and SEARCH without parsing the MIME structure again.
// Plain JSON: numbers, strings (binary strings, one char per byte), arrays.

import type { Param } from './rfc2231.js';

export type { Param };

/** Byte counts of a header or body: as stored, and in CRLF form (RFC 3501 §2.3.4). */
export interface Size {
  /** Bytes in the file. */
  physical: number;
  /** Bytes once every bare LF is sent as CRLF (what IMAP counts and serves). */
  virtual: number;
  /** Line count (LF count). */
  lines: number;
}

/** Part flags (bit set). */
export const PartFlag = {
  MULTIPART: 0x01,
  MULTIPART_DIGEST: 0x02,
  MESSAGE_RFC822: 0x04,
  TEXT: 0x08,
  HAS_NULS: 0x20,
  IS_MIME: 0x40,
} as const;

/** Content-* header data of one part (RFC 2045 §5, §6, RFC 2183, RFC 3066, RFC 2557). */
export interface PartData {
  type: string | null;
  subtype: string | null;
  params: Param[];
  id: string | null;
  description: string | null;
  encoding: string | null;
  md5: string | null;
  disposition: string | null;
  dispositionParams: Param[] | null;
  language: string[] | null;
  location: string | null;
}

/** RFC 3501 §7.4.2 address structure; a group start has domain null, a group end all null. */
export interface Address {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
}

/** Raw ENVELOPE fields (RFC 3501 §7.4.2), header values as written. */
export interface EnvelopeData {
  date: string | null;
  subject: string | null;
  from: Address[];
  sender: Address[];
  replyTo: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  inReplyTo: string | null;
  messageId: string | null;
}

export interface PartNode {
  /** File offset where this part's header starts. */
  pos: number;
  header: Size;
  body: Size;
  flags: number;
  data: PartData;
  /** Only on the root and on the child of a message/rfc822 part. */
  envelope?: EnvelopeData;
  children: PartNode[];
}

export interface MessageIndex {
  version: 1;
  /** RFC822.SIZE: the message size in CRLF form. */
  size: number;
  /** Bytes in the file. */
  physicalSize: number;
  root: PartNode;
  /** Pre-rendered wire strings (binary strings). */
  envelope: string;
  body: string;
  bodystructure: string;
  /** Set when a nesting or part-count limit cut the structure short. */
  limited: boolean;
}

export interface IndexLimits {
  /** Nested MIME parts, counting message/rfc822 levels (default 100). */
  maxNesting: number;
  /** Total MIME parts (default 10000). */
  maxParts: number;
  /** Bytes of one header value kept for ENVELOPE/BODYSTRUCTURE (default 64 KiB). */
  maxHeaderValue: number;
  /**
   * Bytes of Content-* and ENVELOPE field values kept per part (default 1 MiB):
   * a header of 100,000 To: fields must not become a 100 MB ENVELOPE.
   */
  maxHeaderBytes: number;
}

export const DEFAULT_LIMITS: IndexLimits = {
  maxNesting: 100,
  maxParts: 10000,
  maxHeaderValue: 64 * 1024,
  maxHeaderBytes: 1024 * 1024,
};
