// Status responses (RFC 3501 §7.1) as values, response codes as named
// constants, and the one mapping from errors to the wire (STYLE.md §5).
// Reply text is generic; details go to the log.

import { MaildirError, type MaildirErrorCode } from '@postamt/maildir';
import { InvalidMailboxName } from './protocol/mailbox-name.js';
import { ParseError } from './protocol/reader.js';
import { BadCharsetError } from './protocol/search-args.js';

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
  badCharset: no('Charset not supported', 'BADCHARSET'),
  invalidName: no('Invalid mailbox name', 'CANNOT'),
  readOnly: no('Mailbox is read-only', 'READ-ONLY'),
  done: ok('Completed'),
} as const;

/** RFC 5530 response codes for each storage failure; generic text, details only in the log. */
const STORE_ERRORS: Record<MaildirErrorCode, Status> = {
  'invalid-name': R.invalidName,
  'not-found': no('Mailbox does not exist', 'NONEXISTENT'),
  exists: no('Mailbox already exists', 'ALREADYEXISTS'),
  'has-children': no('Mailbox has inferior hierarchical names', 'HASCHILDREN'),
  'over-quota': no('Quota exceeded', 'OVERQUOTA'),
  limit: no('Limit reached', 'LIMIT'),
  locked: no('Mailbox busy, try again', 'INUSE'),
  io: R.temporary,
};

/**
 * COPY, MOVE and APPEND to a mailbox that does not exist: NO [TRYCREATE]
 * (RFC 3501 §6.3.11, §6.4.7) instead of [NONEXISTENT].
 */
export class TryCreate extends Error {}

/** Runs a storage call whose 'not-found' means the target mailbox is missing. */
export async function targetMustExist<T>(op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof MaildirError && err.code === 'not-found') throw new TryCreate();
    throw err;
  }
}

/** Every thrown error becomes exactly one status response here. */
export function toImapResponse(err: unknown): Status {
  if (err instanceof InvalidMailboxName) return R.invalidName;
  if (err instanceof ParseError) return R.syntax;
  if (err instanceof BadCharsetError) return R.badCharset;
  if (err instanceof TryCreate) return no('Mailbox does not exist', 'TRYCREATE');
  if (err instanceof MaildirError) return STORE_ERRORS[err.code];
  return R.temporary;
}

export function formatStatus(tag: string, s: Status): string {
  return `${tag} ${s.kind} ${s.code ? `[${s.code}] ` : ''}${s.text}\r\n`;
}
