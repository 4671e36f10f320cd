// Helpers shared by several commands: mailbox arguments, login completion,
// mailbox synchronisation.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Extensions } from '../mailbox-view.js';
import { InvalidMailboxName, mailboxFromWire } from '../protocol/mailbox-name.js';
import type { Reader } from '../protocol/reader.js';
import { ok, R, type Status } from '../responses.js';
import type { Session } from '../session.js';
import { readClock } from '../shared-folders.js';

/** mailbox = "INBOX" / astring (RFC 3501 §9), canonical; invalid names throw. */
export function mailboxArg(r: Reader, ctx: { utf8: boolean }): string {
  const res = mailboxFromWire(r.astring(), ctx.utf8);
  if (!res.ok) throw new InvalidMailboxName();
  return res.name;
}

export async function completeLogin(session: Session, name: string, password: string): Promise<Status> {
  const { deps } = session;
  const account = await deps.directory.authenticate(name, password);
  if (!account) {
    session.authFailures++;
    session.log.info({ user: name }, 'login failed');
    await sleep(deps.limits.authFailDelayMs);
    if (session.authFailures >= deps.limits.maxAuthFailures) session.close();
    return R.authFailed;
  }
  const store = await deps.stores.forUser(account.key);
  session.state = { kind: 'authenticated', user: account.key, store };
  session.listen(account.key);
  session.log.info({ user: account.key }, 'logged in');
  return ok('Logged in', `CAPABILITY ${session.capabilities()}`);
}

/** Without an event, a session still looks at its folder this often (events can be lost). */
const RESYNC_MS = 15_000;

/**
 * Reports changes made by other sessions (RFC 3501 §5.2, §7.4.1). EXPUNGE only
 * when `allowExpunge`; the view keeps vanished messages until then. With
 * `force` (NOOP, CHECK, APPEND to the folder) or when the last look is older
 * than RESYNC_MS, the folder is read afresh; when news is expected (an event
 * was heard) a read that started after it will do — often one another session
 * of the user already made (shared-folders.ts); otherwise nothing is read.
 */
export async function syncMailbox(session: Session, allowExpunge: boolean, force = false): Promise<void> {
  const state = session.state;
  if (state.kind !== 'selected') return;
  const view = state.mailbox;
  let after: number;
  if (force || Date.now() - view.syncedAt >= RESYNC_MS) after = readClock();
  else if (view.staleSince !== null) after = view.staleSince;
  else return;
  const snap = await state.store.open(view.name, !view.readOnly, after);
  // One write: the lines of one merge stay together even if another merge runs meanwhile (IDLE).
  await session.untaggedMany(view.sync(snap, allowExpunge, extensions(session)));
}

/** RFC 7162: what CONDSTORE and QRESYNC change in this session's responses. */
export function extensions(session: Session): Extensions {
  return { condstore: session.enabled.has('CONDSTORE'), qresync: session.enabled.has('QRESYNC') };
}
