// RCPT TO policy for the MX listener: local recipients must exist (reject at
// RCPT time, so no backscatter later); other domains are never relayed for an
// unauthenticated client (no open relay).
import type { Directory } from '@postamt/directory';
import { Replies, type SmtpReply } from './replies.js';

export async function checkRecipient(directory: Directory, address: string): Promise<SmtpReply | null> {
  if (!/^[^@\s]+@[^@\s]+$/.test(address)) return Replies.badRecipientSyntax;
  const r = await directory.resolve(address);
  switch (r.kind) {
    case 'user':
    case 'alias':
      return null;
    case 'unknown':
      return Replies.unknownUser;
    case 'remote':
      return Replies.relayDenied;
  }
}
