// The short notice a local recipient gets when a message for them is
// quarantined for a virus or a banned attachment. It goes to the recipient, never to the sender:
// the sender of a virus is almost always forged, and a bounce would be
// backscatter (RFC 3834 §2 spirit; amavisd's "no bounce for viruses").
import { randomBytes } from 'node:crypto';

export interface NoticeInput {
  hostname: string;
  recipient: string;
  queueId: string;
  mailFrom: string;
  /** What was found: a virus name, or the banned file names. */
  reason: { kind: 'virus' | 'banned'; what: string };
  subject: string | null;
  date: Date;
}

/** RFC 5322 message with CRLF line ends; header values are ASCII-only here. */
export function quarantineNotice(n: NoticeInput): Buffer {
  const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  const lines = [
    `From: Mail Filter <postmaster@${n.hostname}>`,
    `To: <${ascii(n.recipient)}>`,
    `Subject: A message for you was quarantined (${n.reason.kind === 'virus' ? 'virus found' : 'banned attachment'})`,
    `Date: ${n.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${n.queueId}.${randomBytes(4).toString('hex')}.notice@${n.hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    n.reason.kind === 'virus'
      ? 'A message addressed to you contained a virus and was not delivered.'
      : 'A message addressed to you carried a file type that is not accepted here, and was not delivered.',
    'It is held in quarantine; ask your mail administrator if you need it.',
    '',
    `  Queue id:  ${n.queueId}`,
    `  Sender:    <${ascii(n.mailFrom)}> (possibly forged)`,
    `  Subject:   ${n.subject === null ? '(none)' : ascii(n.subject)}`,
    `  ${n.reason.kind === 'virus' ? 'Virus:  ' : 'Files:  '}   ${ascii(n.reason.what)}`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/** The unfolded Subject of a header block, for the notice. */
export function subjectOf(header: Buffer | null): string | null {
  if (!header) return null;
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(header.toString('latin1'));
  return m ? (m[1] as string).replace(/\r?\n/g, '').trim() : null;
}
