// Status responses (RFC 3501 §7.1) as values, response codes as named
// constants, and the one mapping from errors to the wire (STYLE.md §5).
// Reply text is generic; details go to the log.
import { InvalidMailboxName } from './protocol/mailbox-name.js';
import { ParseError } from './protocol/reader.js';
import { BadCharsetError } from './protocol/search-args.js';
import { StoreError } from './store.js';

export interface Status {
  kind: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';
  /** Response code without brackets, e.g. "READ-WRITE" (RFC 3501 §7.1, RFC 5530). */
  code?: string;
  text: string;
}

export const ok = (text: string, code?: string): Status => ({ kind: 'OK', text, code });
export const no = (text: string, code?: string): Status => ({ kind: 'NO', text, code });
export const bad = (text: string, code?: string): Status => ({ kind: 'BAD', text, code });

export const R = {
  greeting: (caps: string): Status => ok('Postamt IMAP ready', `CAPABILITY ${caps}`),
  bye: ok('Logging out'),
  byeShutdown: { kind: 'BYE', text: 'Server shutting down', code: 'UNAVAILABLE' } as Status,
  byeIdle: { kind: 'BYE', text: 'Autologout; idle for too long' } as Status,
  byeTooManyErrors: { kind: 'BYE', text: 'Too many errors' } as Status,
  byeLiteral: { kind: 'BYE', text: 'Literal too big', code: 'TOOBIG' } as Status,
  lineTooLong: bad('Command line too long', 'TOOBIG'),
  literalTooBig: no('Literal too big', 'TOOBIG'),
  unknown: bad('Unknown command'),
  wrongState: bad('Command not valid in this state'),
  syntax: bad('Syntax error'),
  authFailed: no('Authentication failed', 'AUTHENTICATIONFAILED'),
  loginDisabled: no('Plaintext login disabled; use STARTTLS', 'PRIVACYREQUIRED'),
  temporary: no('Temporary server failure, try again later', 'UNAVAILABLE'),
  badCharset: no('Charset not supported', 'BADCHARSET (US-ASCII UTF-8)'),
  invalidName: no('Invalid mailbox name', 'CANNOT'),
  readOnly: no('Mailbox is read-only', 'READ-ONLY'),
  done: ok('Completed'),
} as const;

const STORE_ERRORS: Record<StoreError['code'], Status> = {
  nonexistent: no('Mailbox does not exist', 'NONEXISTENT'),
  exists: no('Mailbox already exists', 'ALREADYEXISTS'),
  'invalid-name': R.invalidName,
  cannot: no('Operation not permitted on this mailbox', 'CANNOT'),
  'over-quota': no('Quota exceeded', 'OVERQUOTA'),
  expunged: no('Some messages were expunged', 'EXPUNGEISSUED'),
  'in-use': no('Mailbox busy, try again', 'INUSE'),
  io: R.temporary,
};

/** Every thrown error becomes exactly one status response here. */
export function toImapResponse(err: unknown): Status {
  if (err instanceof InvalidMailboxName) return R.invalidName;
  if (err instanceof ParseError) return R.syntax;
  if (err instanceof BadCharsetError) return R.badCharset;
  if (err instanceof StoreError) return STORE_ERRORS[err.code];
  // COPY/MOVE/APPEND to a missing mailbox (RFC 3501 §6.4.7, §6.3.11).
  if ((err as { tryCreate?: boolean })?.tryCreate) return no('Mailbox does not exist', 'TRYCREATE');
  return R.temporary;
}

export function formatStatus(tag: string, s: Status): string {
  return `${tag} ${s.kind} ${s.code ? `[${s.code}] ` : ''}${s.text}\r\n`;
}
