// Named SMTP replies (RFC 5321 §4.2, enhanced codes RFC 3463). Handlers return
// one of these; @postamt/smtp-server turns it into the wire reply. Reply text is
// generic: details go to the log, never to the client.

export interface SmtpReply {
  code: number;
  /** Enhanced status code, e.g. 5.1.1. */
  status: string;
  text: string;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

export const Replies = {
  queued: (id: string) => reply(250, '2.0.0', `Ok: queued as ${id}`),
  unknownUser: reply(550, '5.1.1', 'Recipient address rejected: user unknown'),
  relayDenied: reply(554, '5.7.1', 'Relay access denied'),
  badRecipientSyntax: reply(501, '5.1.3', 'Bad recipient address syntax'),
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  messageTooBig: reply(552, '5.3.4', 'Message size exceeds fixed limit'),
  tempLookupFailure: reply(451, '4.3.0', 'Temporary lookup failure, try again later'),
  /** The authenticated user may not use this sender address (Postfix reject_sender_login_mismatch). */
  senderNotOwned: reply(553, '5.7.1', 'Sender address rejected: not owned by user'),
  /** Strict sender policy: the From/Sender header names an address the user may not use. */
  headerFromNotOwned: reply(553, '5.7.1', 'From header address not owned by user'),
  tempQueueFailure: reply(451, '4.3.0', 'Error: queue file write error, try again later'),
  /** RFC 5321 §4.2.3 452 and RFC 3463 4.3.1 "mail system full", as Postfix answers. */
  insufficientStorage: reply(452, '4.3.1', 'Insufficient system storage'),
} as const;

/** The reply for a failed spool write: a full volume is said as such, anything else is a plain temp failure. */
export function spoolFailureReply(err: unknown): SmtpReply {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? Replies.insufficientStorage : Replies.tempQueueFailure;
}
