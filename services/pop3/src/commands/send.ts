// The part RETR and TOP share: open the file (which another process may have
// moved or removed since login), send the status line, stream the body. Once
// "+OK" is out an error can no longer be reported, so the connection is cut.
import type { Maildrop, MaildropMessage } from '../maildrop.js';
import { R, type Reply } from '../responses.js';
import { encodeMessage, sendMessage } from '../retr.js';
import type { Session } from '../session.js';

/** Returns true when the message was sent completely. */
export async function sendMessageReply(
  session: Session,
  maildrop: Maildrop,
  m: MaildropMessage,
  status: Reply,
  bodyLines?: number,
): Promise<boolean> {
  // Small messages are read whole before the status line (a read error still
  // gets -ERR) and leave with it in one writev (Transport.hold).
  const max = session.deps.sizes.syncReadMax;
  const content = m.rawSize <= max ? await maildrop.readSmall(m, max) : 'large';
  if (content === null) return gone(session, m);
  if (content !== 'large') {
    await session.reply(status);
    await session.transport.write(encodeMessage(content, bodyLines));
    return true;
  }
  const file = await maildrop.openFile(m);
  if (!file) return gone(session, m);
  try {
    await session.reply(status);
    await sendMessage(file, (data) => session.transport.write(data), bodyLines, m.rawSize);
    return true;
  } catch (err) {
    session.log.error({ err, message: m.number }, 'sending message failed midway, closing');
    session.transport.destroy();
    session.close();
    return false;
  } finally {
    await file.close().catch(() => {});
  }
}

async function gone(session: Session, m: MaildropMessage): Promise<false> {
  session.log.warn({ message: m.number }, 'message file vanished since login');
  await session.reply(R.messageGone);
  return false;
}
