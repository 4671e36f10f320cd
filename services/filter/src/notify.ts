// Delivers the quarantine notice to each local recipient's INBOX, once per
// message and recipient (the delivery key carries the `n` kind). Returns the
// deliveries' claims, for the caller to release when its job is finished.
import type { User } from '@postamt/directory';
import { deliver, folderDir, userMaildir } from '@postamt/maildir';
import { summarizeMessage } from '@postamt/mime';
import { deliveryKey } from './delivery-key.js';
import { type NoticeInput, quarantineNotice } from './notice.js';

export async function deliverNotices(
  where: { dataDir: string; hostname: string },
  users: User[],
  about: Pick<NoticeInput, 'queueId' | 'mailFrom' | 'reason' | 'subject'> & { time: number },
): Promise<string[]> {
  const claims: string[] = [];
  for (const user of users) {
    const notice = quarantineNotice({
      ...about,
      hostname: where.hostname,
      recipient: user.address,
      date: new Date(about.time * 1000),
    });
    const delivered = await deliver({
      dir: folderDir(userMaildir(where.dataDir, user.key), 'INBOX'),
      deliveryKey: deliveryKey(about.queueId, user.key, 'n'),
      time: about.time,
      host: where.hostname,
      source: notice,
      indexer: summarizeMessage,
      syncInline: true,
    });
    claims.push(delivered.claim);
  }
  return claims;
}
