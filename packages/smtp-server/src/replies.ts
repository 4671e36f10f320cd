// Named SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463,
// advertised as ENHANCEDSTATUSCODES, RFC 2034), and the one function that turns
// a reply into wire text. Handlers and hooks return one of these; nothing else
// writes reply text. Text is generic: details go to the log, never to the client.

export interface SmtpReply {
  /** Three-digit reply code, RFC 5321 §4.2.1. */
  code: number;
  /** Enhanced status code (e.g. `5.1.1`); absent for 220, 354, 334 and the EHLO list. */
  status?: string;
  /** One line, or several for a multi-line reply (RFC 5321 §4.2.1, `250-...`). */
  text: string | readonly string[];
}

const r = (code: number, status: string | undefined, text: string): SmtpReply =>
  status ? { code, status, text } : { code, text };

export const Replies = {
  // 2xx
  closing: r(221, '2.0.0', 'Bye'),
  /** Postfix's answer to an HTTP request on the SMTP port. */
  notSmtp: r(221, '2.7.0', 'Error: I can break rules, too. Goodbye.'),
  ok: r(250, '2.0.0', 'Ok'),
  senderOk: r(250, '2.1.0', 'Ok'),
  recipientOk: r(250, '2.1.5', 'Ok'),
  /** RFC 5321 §3.5.3: 252 when we will not verify but will accept. */
  cannotVerify: r(252, '2.0.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  help: r(214, '2.0.0', 'See https://www.rfc-editor.org/rfc/rfc5321'),
  authOk: r(235, '2.7.0', 'Authentication successful'),
  // 3xx
  startData: r(354, undefined, 'End data with <CR><LF>.<CR><LF>'),
  // 4xx
  shuttingDown: r(421, '4.3.2', 'Service shutting down, closing transmission channel'),
  timeout: r(421, '4.4.2', 'Error: timeout exceeded'),
  tooManyErrors: r(421, '4.7.0', 'Error: too many errors'),
  tooManyJunk: r(421, '4.7.0', 'Error: too many commands without mail'),
  pregreet: r(421, '4.7.0', 'Error: you talk too soon'),
  tooManyConnections: r(421, '4.7.0', 'Error: too many connections from your address'),
  tooManyMessages: r(450, '4.7.1', 'Error: too many messages from your address, try again later'),
  tooManyRecipientsRate: r(450, '4.7.1', 'Error: too many recipients from your address, try again later'),
  tempFailure: r(451, '4.3.0', 'Error: temporary failure, try again later'),
  /** RFC 5321 §4.5.3.1.10. */
  tooManyRecipients: r(452, '4.5.3', 'Error: too many recipients'),
  tlsUnavailable: r(454, '4.7.0', 'TLS not available due to temporary reason'),
  // 5xx: syntax (RFC 5321 §4.2.4, RFC 3463 X.5.x)
  unknownCommand: r(500, '5.5.2', 'Error: command not recognized'),
  lineTooLong: r(500, '5.5.2', 'Error: line too long'),
  bareLf: r(500, '5.5.2', 'Error: bare <LF> received'),
  bareCr: r(500, '5.5.2', 'Error: bare <CR> received'),
  notImplemented: r(502, '5.5.1', 'Error: command not implemented'),
  syntax: (usage: string) => r(501, '5.5.4', `Syntax: ${usage}`),
  badSenderSyntax: r(501, '5.1.7', 'Bad sender address syntax'),
  badRecipientSyntax: r(501, '5.1.3', 'Bad recipient address syntax'),
  badParameter: r(501, '5.5.4', 'Bad parameter syntax'),
  unknownParameter: r(555, '5.5.4', 'Unsupported option'),
  utf8Required: r(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8'),
  // 5xx: sequence
  needHelo: r(503, '5.5.1', 'Error: send HELO/EHLO first'),
  nestedMail: r(503, '5.5.1', 'Error: nested MAIL command'),
  needMail: r(503, '5.5.1', 'Error: need MAIL command'),
  needRcpt: r(503, '5.5.1', 'Error: need RCPT command'),
  /** RFC 2920 §3.1: DATA after every RCPT failed. */
  noValidRecipients: r(554, '5.5.1', 'Error: no valid recipients'),
  tlsActive: r(503, '5.5.1', 'Error: TLS already active'),
  accessDenied: r(503, '5.7.0', 'Error: access denied'),
  alreadyAuthenticated: r(503, '5.5.1', 'Error: already authenticated'),
  authUnknownMechanism: r(504, '5.5.4', 'Error: unsupported authentication mechanism'),
  authCancelled: r(501, '5.7.0', 'Authentication cancelled'),
  /** RFC 4954 §4: a response that is not valid base64 or not valid for the mechanism. */
  authMalformed: r(501, '5.5.2', 'Error: cannot decode response'),
  /** RFC 4954 §6. */
  authFailed: r(535, '5.7.8', 'Error: authentication failed'),
  /** RFC 4954 §6: e.g. the account or client is locked out for a while. */
  authTempFailure: r(454, '4.7.0', 'Temporary authentication failure, try again later'),
  /** RFC 4954 §6: AUTH asked for before the channel is encrypted. */
  encryptionRequired: r(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  /** RFC 4954 §6: the listener requires AUTH before MAIL. */
  authRequired: r(530, '5.7.0', 'Authentication required'),
  /** RFC 3207 §4: the listener requires STARTTLS first. */
  tlsRequired: r(530, '5.7.0', 'Must issue a STARTTLS command first'),
  // 5xx: message
  messageTooBig: r(552, '5.3.4', 'Message size exceeds fixed limit'),
  /** SMTP smuggling (RFC 5321 §2.3.8, §4.1.1.4): a bare CR/LF next to a dot line. */
  bareNewlineDot: r(550, '5.6.0', 'Error: message contains a bare <CR> or <LF> next to a dot line'),
} as const;

/** The greeting, RFC 5321 §4.2: `220 <domain> <text>`; no enhanced code (RFC 2034 §3). */
export function greeting(hostname: string, banner: string): SmtpReply {
  return { code: 220, text: `${hostname} ${banner}` };
}

/** Control characters can never reach the wire: a reply must stay one line per entry. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** Wire form: `code-text` for every line but the last, `code text` for the last (RFC 5321 §4.2.1). */
export function formatReply(reply: SmtpReply): string {
  const lines = typeof reply.text === 'string' ? [reply.text] : reply.text;
  const prefix = reply.status ? `${reply.status} ` : '';
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? ' ' : '-';
    out += `${reply.code}${sep}${prefix}${clean(lines[i] ?? '')}\r\n`;
  }
  return out;
}

export function isPositive(reply: SmtpReply): boolean {
  return reply.code >= 200 && reply.code < 400;
}
