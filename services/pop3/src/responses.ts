// Every POP3 status line is built here, and every failure is mapped to the wire
// in one function (toPop3Response). Reply text is generic: details go to the
// log, never to the client (no paths, host names or error messages).
//
// Response codes come from RFC 2449 §8 (IN-USE, LOGIN-DELAY) and RFC 3206
// (SYS/TEMP, SYS/PERM, AUTH); we announce RESP-CODES and AUTH-RESP-CODE in CAPA.

export type RespCode = 'AUTH' | 'IN-USE' | 'SYS/TEMP' | 'SYS/PERM';

/** One status line, before it is serialised. */
export interface Reply {
  ok: boolean;
  code?: RespCode;
  text: string;
}

/** Errors a handler throws; `kind` picks the reply, `detail` is for the log only. */
export class Pop3Error extends Error {
  constructor(
    readonly kind: 'in-use' | 'temporary' | 'permanent',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'Pop3Error';
  }
}

// RFC 2449 §4: responses are at most 512 octets including CRLF.
const MAX_RESPONSE = 510;

export const ok = (text: string): Reply => ({ ok: true, text });
export const err = (text: string, code?: RespCode): Reply =>
  code ? { ok: false, code, text } : { ok: false, text };

/** The status line on the wire. CR and LF in text can never split a reply. */
export function formatReply(reply: Reply): string {
  const text = reply.text.replace(/[\r\n]+/g, ' ');
  const head = reply.ok ? '+OK' : reply.code ? `-ERR [${reply.code}]` : '-ERR';
  const line = text ? `${head} ${text}` : head;
  return `${line.slice(0, MAX_RESPONSE)}\r\n`;
}

/** A multi-line body: lines dot-stuffed (RFC 1939 §3) and closed with ".". */
export function formatLines(lines: readonly string[]): string {
  return `${lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n')}${lines.length ? '\r\n' : ''}.\r\n`;
}

/** RFC 5034 §4: a server challenge, base64; PLAIN sends an empty one. */
export const continuation = (base64 = ''): string => `+ ${base64}\r\n`;

/** The replies handlers use; named so the wording lives in one place. */
export const R = {
  greeting: (host: string) => ok(`${host} POP3 server ready`),
  unknownCommand: err('Unknown command'),
  wrongState: err('Command not valid in this state'),
  syntax: err('Syntax error in arguments'),
  lineTooLong: err('Line too long'),
  tooManyErrors: err('Too many errors, closing connection'),
  noSuchMessage: err('No such message'),
  alreadyDeleted: err('Message already deleted'),
  messageGone: err('Message is no longer available', 'SYS/TEMP'),
  authFailed: err('Authentication failed', 'AUTH'),
  tooManyFailures: err('Too many failed logins, closing connection', 'AUTH'),
  plaintextRefused: err('Plaintext authentication requires TLS (use STLS)', 'AUTH'),
  mechanismUnsupported: err('Unsupported authentication mechanism'),
  authCancelled: err('Authentication cancelled'),
  needUser: err('Send USER first'),
  alreadyTls: err('TLS is already active'),
  beginTls: ok('Begin TLS negotiation'),
  inUse: err('Mailbox is locked by another session', 'IN-USE'),
  temporary: err('Temporary server failure, try again later', 'SYS/TEMP'),
  permanent: err('Server failure', 'SYS/PERM'),
  idle: err('Idle timeout, closing connection'),
  shuttingDown: err('Server shutting down', 'SYS/TEMP'),
  tooManyConnections: err('Too many connections, try again later', 'SYS/TEMP'),
  bye: ok('Bye'),
  updateFailed: err('Some deleted messages were not removed', 'SYS/TEMP'),
} as const;

/** The one mapping of failures to replies; anything unexpected is temporary. */
export function toPop3Response(error: unknown): Reply {
  if (error instanceof Pop3Error) {
    if (error.kind === 'in-use') return R.inUse;
    if (error.kind === 'permanent') return R.permanent;
  }
  return R.temporary;
}
