// RCPT TO syntax: a mailbox whose domain is an FQDN (RFC 5321 §4.1.2), as
// Postfix's reject_non_fqdn_recipient. Whether the mailbox exists is the
// directory's question, asked by the intake after this.
import type { PolicyReply, Verdict } from '../decision.js';
import { isFqdnAddress } from '../fqdn.js';

export const RecipientReplies = {
  notFqdn: {
    code: 504,
    status: '5.5.2',
    text: 'Recipient address rejected: need fully-qualified address (recipient)',
  },
} as const satisfies Record<string, PolicyReply>;

export function checkRecipientSyntax(rcptTo: string): Verdict {
  if (isFqdnAddress(rcptTo)) return { result: 'pass' };
  return {
    result: 'fail',
    reply: RecipientReplies.notFqdn,
    detail: `recipient ${rcptTo} is not fully qualified`,
  };
}
