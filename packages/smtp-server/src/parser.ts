// The SMTP command parser (RFC 5321 §4.1.1): one command line (without its
// CRLF) in, a typed command or the reply to send out. Pure: no session, no
// socket. Whether a command is allowed now is the dispatcher's business
// (commands/index.ts); this module only judges syntax.

import { parsePath } from './address.js';
import { type MailParams, parseMailParams, parseRcptParams, type RcptParams } from './params.js';
import { Replies, type SmtpReply } from './replies.js';

export type Command =
  | { verb: 'EHLO' | 'HELO'; domain: string }
  | { verb: 'MAIL'; address: string; utf8: boolean; params: MailParams }
  | { verb: 'RCPT'; address: string; utf8: boolean; params: RcptParams }
  | { verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS' }
  | { verb: 'NOOP' | 'HELP' | 'VRFY' | 'EXPN'; arg: string }
  | { verb: 'AUTH'; mechanism: string; initial?: string }
  | { verb: 'BDAT' | 'TURN' | 'ETRN' | 'SEND' | 'SOML' | 'SAML' };

export type Verb = Command['verb'];

export type ParseResult =
  | { ok: true; command: Command }
  /** `kind` lets the session count unknown commands and drop non-SMTP clients. */
  | { ok: false; reply: SmtpReply; kind: 'syntax' | 'unknown' | 'not-smtp' };

/**
 * Line length limits (RFC 5321 §4.5.3.1.4: 512 octets with CRLF), raised by
 * the extensions we advertise: SIZE +26 (RFC 1870 §4), DSN +100 for MAIL and
 * +500 for RCPT (RFC 3461 §5), and 12288 for AUTH (RFC 4954 §4).
 */
export function lineLimit(verb: string): number {
  switch (verb) {
    case 'MAIL':
      return 512 + 26 + 100 + 24; // + BODY=8BITMIME and SMTPUTF8
    case 'RCPT':
      return 512 + 500;
    case 'AUTH':
      return 12288;
    default:
      return 512;
  }
}

/** The longest line the reader buffers before answering "line too long". */
export const MAX_LINE = 12288;

/** Postfix's smtpd_forbidden_commands: a web client or proxy probe on the SMTP port. */
const NOT_SMTP = new Set(['GET', 'POST', 'HEAD', 'PUT', 'CONNECT', 'OPTIONS', 'USER']);

const syntax = (usage: string): ParseResult => ({ ok: false, reply: Replies.syntax(usage), kind: 'syntax' });
const fail = (reply: SmtpReply): ParseResult => ({ ok: false, reply, kind: 'syntax' });
const ok = (command: Command): ParseResult => ({ ok: true, command });

/** Splits a line into its verb (upper-cased) and the argument text. */
export function splitVerb(line: string): { verb: string; arg: string } {
  const sp = line.indexOf(' ');
  return sp < 0
    ? { verb: line.toUpperCase(), arg: '' }
    : { verb: line.slice(0, sp).toUpperCase(), arg: line.slice(sp + 1) };
}

export function parseCommand(line: string): ParseResult {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) return fail(Replies.syntax('control characters'));
  const { verb, arg } = splitVerb(line);
  if (Buffer.byteLength(line) + 2 > lineLimit(verb)) return fail(Replies.lineTooLong);
  const rest = arg.trim();
  switch (verb) {
    case 'EHLO':
    case 'HELO':
      // RFC 5321 §4.1.1.1: one argument, the domain or address literal; the
      // policy judges whether it is a proper FQDN.
      if (!rest || /\s/.test(rest)) return syntax(`${verb} hostname`);
      return ok({ verb, domain: rest });
    case 'MAIL':
    case 'RCPT':
      return parseMailOrRcpt(verb, arg);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      return rest ? syntax(verb) : ok({ verb });
    case 'NOOP':
    case 'HELP':
    case 'VRFY':
    case 'EXPN':
      if ((verb === 'VRFY' || verb === 'EXPN') && !rest) return syntax(`${verb} address`);
      return ok({ verb, arg: rest });
    case 'AUTH': {
      const parts = rest.split(' ');
      const mechanism = (parts[0] ?? '').toUpperCase();
      if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism) || parts.length > 2) return syntax('AUTH mechanism');
      return ok(parts[1] === undefined ? { verb, mechanism } : { verb, mechanism, initial: parts[1] });
    }
    case 'BDAT':
    case 'TURN':
    case 'ETRN':
    case 'SEND':
    case 'SOML':
    case 'SAML':
      return ok({ verb });
    default:
      if (NOT_SMTP.has(verb)) return { ok: false, reply: Replies.notSmtp, kind: 'not-smtp' };
      return { ok: false, reply: Replies.unknownCommand, kind: 'unknown' };
  }
}

function parseMailOrRcpt(verb: 'MAIL' | 'RCPT', arg: string): ParseResult {
  const keyword = verb === 'MAIL' ? 'FROM:' : 'TO:';
  const usage = verb === 'MAIL' ? 'MAIL FROM:<address>' : 'RCPT TO:<address>';
  if (arg.slice(0, keyword.length).toUpperCase() !== keyword) return syntax(usage);
  const after = arg.slice(keyword.length);
  const trimmed = after.trimStart();
  if (trimmed === '') return syntax(usage);
  // Angle brackets required around the path, except for a lone address (lenient, as Postfix).
  let pathText: string;
  let paramText: string;
  if (trimmed.startsWith('<')) {
    const close = findClose(trimmed);
    if (close < 0) return syntax(usage);
    pathText = trimmed.slice(1, close);
    const tail = trimmed.slice(close + 1);
    if (tail !== '' && !tail.startsWith(' ')) return syntax(usage);
    paramText = tail.trim();
  } else {
    const sp = trimmed.indexOf(' ');
    pathText = sp < 0 ? trimmed : trimmed.slice(0, sp);
    paramText = sp < 0 ? '' : trimmed.slice(sp + 1).trim();
  }
  const path = parsePath(pathText);
  if (verb === 'MAIL') {
    if (!path) return fail(Replies.badSenderSyntax);
    const params = parseMailParams(paramText);
    if (!params.ok) return fail(params.reply);
    return ok({ verb, address: path.address, utf8: path.utf8, params: params.params });
  }
  // RFC 5321 §4.1.1.3: the null path is not a recipient; `<postmaster>` without domain is.
  if (pathText.toLowerCase() === 'postmaster') return withRcptParams('postmaster', false, paramText);
  if (!path || path.address === '') return fail(Replies.badRecipientSyntax);
  return withRcptParams(path.address, path.utf8, paramText);
}

function withRcptParams(address: string, utf8: boolean, paramText: string): ParseResult {
  const params = parseRcptParams(paramText);
  if (!params.ok) return fail(params.reply);
  return ok({ verb: 'RCPT', address, utf8, params: params.params });
}

/** Index of the `>` closing the path, skipping quoted strings; -1 when unbalanced. */
function findClose(s: string): number {
  let inQuote = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && inQuote) i++;
    else if (c === '"') inQuote = !inQuote;
    else if (!inQuote && c === '<') return -1;
    else if (!inQuote && c === '>') return i;
  }
  return -1;
}
