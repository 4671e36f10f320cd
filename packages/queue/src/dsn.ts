// RFC 3464 delivery status notifications: multipart/report (RFC 6522) with a
// human-readable part, message/delivery-status, and the original message's
// headers (text/rfc822-headers) or the whole message (message/rfc822) as the
// sender asked with RET (RFC 3461 §4.3). Pure: bytes in, bytes out. Shared by
// the relay (delivery failures) and the filter (submitted mail refused).
import { randomBytes } from 'node:crypto';

/** Text made safe for a header field or a DSN line: one line, printable ASCII. */
function oneLine(text: string, max = 500): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, max);
}

export type DsnAction = 'failed' | 'delayed' | 'relayed';

export interface DsnRecipient {
  address: string;
  /** RFC 3461 ORCPT as stored in the envelope (`rfc822;addr` or a bare address). */
  orcpt?: string;
  action: DsnAction;
  status: string;
  /** The remote server's reply, when there was one. */
  smtp?: string;
  /** Our own reason when no server answered (DNS, policy, expiry). */
  reason: string;
  remoteMta?: string;
  /** What was verified about the receiving server (FCrDNS, TLS, MTA-STS). */
  checks?: string;
  lastAttempt?: Date;
  willRetryUntil?: Date;
}

export interface DsnInput {
  hostname: string;
  queueId: string;
  sender: string;
  envid?: string;
  arrival: Date;
  recipients: DsnRecipient[];
  /** Headers only, or the full message. */
  returned: { kind: 'headers' | 'full'; bytes: Buffer };
  now: Date;
  /** Replaces the generic explanation of the human-readable part (e.g. why a message was refused). */
  explanation?: string;
  /** Replaces the default Subject. */
  subject?: string;
}

const SUBJECT: Record<DsnAction, string> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  relayed: 'Successful Mail Delivery Report',
};

/** RFC 5322 §3.3 date-time. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

function field(name: string, value: string): string {
  return `${name}: ${oneLine(value, 900)}\r\n`;
}

function originalRecipient(orcpt: string): string {
  return orcpt.includes(';') ? orcpt : `rfc822;${orcpt}`;
}

function humanText(i: DsnInput, action: DsnAction): string {
  const lines = [
    `This is the mail system at host ${i.hostname}.`,
    '',
    i.explanation
      ? oneLine(i.explanation, 900)
      : action === 'failed'
        ? 'I am sorry to have to inform you that your message could not be delivered to one or more recipients. It is attached below.'
        : action === 'delayed'
          ? 'Your message could not be delivered yet to one or more recipients. The mail system will keep trying; you do not need to send it again.'
          : 'Your message was handed on to the recipients below, whose servers do not report delivery.',
    '',
  ];
  for (const r of i.recipients) {
    lines.push(
      `<${oneLine(r.address)}>: ${oneLine(r.smtp ? `host ${r.remoteMta ?? ''} said: ${r.smtp}` : r.reason)}`,
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function buildDsn(i: DsnInput): { bytes: Buffer; messageId: string } {
  const action = i.recipients.some((r) => r.action === 'failed')
    ? 'failed'
    : i.recipients.some((r) => r.action === 'delayed')
      ? 'delayed'
      : 'relayed';
  const boundary = `=_postamt_dsn_${randomBytes(12).toString('hex')}`;
  const messageId = `<${i.queueId}.${randomBytes(6).toString('hex')}@${i.hostname}>`;
  const head = [
    field('From', `Mail Delivery System <MAILER-DAEMON@${i.hostname}>`),
    field('To', `<${i.sender}>`),
    field('Subject', i.subject ?? SUBJECT[action]),
    field('Date', rfc5322Date(i.now)),
    field('Message-ID', messageId),
    // RFC 3834 §5: an automatic response; RFC 3464 §6.2 asks for no DSN on a DSN.
    field('Auto-Submitted', 'auto-replied'),
    field('MIME-Version', '1.0'),
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n`,
    '\r\n',
  ].join('');
  // RFC 3464 §2.2: per-message fields, then one block per recipient.
  let status = field('Reporting-MTA', `dns; ${i.hostname}`);
  status += field('X-Postamt-Queue-ID', i.queueId);
  if (i.envid) status += field('Original-Envelope-Id', i.envid);
  status += field('Arrival-Date', rfc5322Date(i.arrival));
  for (const r of i.recipients) {
    status += '\r\n';
    if (r.orcpt) status += field('Original-Recipient', originalRecipient(r.orcpt));
    status += field('Final-Recipient', `rfc822; ${r.address}`);
    status += field('Action', r.action);
    status += field('Status', r.status);
    if (r.remoteMta) status += field('Remote-MTA', `dns; ${r.remoteMta}`);
    status += field('Diagnostic-Code', r.smtp ? `smtp; ${r.smtp}` : `X-Postamt; ${r.reason}`);
    if (r.checks) status += field('X-Postamt-Remote-Checks', r.checks);
    if (r.lastAttempt) status += field('Last-Attempt-Date', rfc5322Date(r.lastAttempt));
    if (r.willRetryUntil) status += field('Will-Retry-Until', rfc5322Date(r.willRetryUntil));
  }
  const returnedType = i.returned.kind === 'full' ? 'message/rfc822' : 'text/rfc822-headers';
  const parts = [
    `--${boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${humanText(i, action)}`,
    `--${boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n${status}`,
    `--${boundary}\r\nContent-Description: ${i.returned.kind === 'full' ? 'Undelivered Message' : 'Undelivered Message Headers'}\r\nContent-Type: ${returnedType}\r\n\r\n`,
  ];
  const tail = `\r\n--${boundary}--\r\n`;
  const returned = i.returned.bytes;
  return {
    bytes: Buffer.concat([Buffer.from(head + parts.join('\r\n')), returned, Buffer.from(tail)]),
    messageId,
  };
}
