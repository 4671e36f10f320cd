// MAIL FROM syntax: the reverse-path is the null path `<>` (RFC 5321 §4.5.5,
// bounces) or a mailbox whose domain is an FQDN (RFC 5321 §4.1.2), as Postfix's
// reject_non_fqdn_sender.
import type { PolicyReply, Verdict } from '../decision.js';
import { isFqdnAddress } from '../fqdn.js';

export const SenderReplies = {
  notFqdn: {
    code: 504,
    status: '5.5.2',
    text: 'Sender address rejected: need fully-qualified address (sender)',
  },
} as const satisfies Record<string, PolicyReply>;

export function checkSender(mailFrom: string): Verdict {
  if (mailFrom === '') return { result: 'pass', detail: 'null sender' };
  if (isFqdnAddress(mailFrom)) return { result: 'pass' };
  return {
    result: 'fail',
    reply: SenderReplies.notFqdn,
    detail: `sender ${mailFrom} is not fully qualified`,
  };
}
