// Helpers shared by several commands: mailbox arguments, login completion,
// mailbox synchronisation.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidMailboxName, mailboxFromWire } from '../protocol/mailbox-name.js';
import type { Reader } from '../protocol/reader.js';
import { ok, R, type Status } from '../responses.js';
import type { Session } from '../session.js';

/** mailbox = "INBOX" / astring (RFC 3501 §9), canonical; invalid names throw. */
export function mailboxArg(r: Reader, session?: Session): string {
  const res = mailboxFromWire(r.astring(), session?.enabled.has('UTF8=ACCEPT'));
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
  session.log.info({ user: account.key }, 'logged in');
  return ok('Logged in', `CAPABILITY ${session.capabilities()}`);
}

/**
 * Reports changes made by other sessions (RFC 3501 §5.2, §7.4.1). EXPUNGE only
 * when `allowExpunge`; the view keeps vanished messages until then.
 */
export async function syncMailbox(session: Session, allowExpunge: boolean): Promise<void> {
  const state = session.state;
  if (state.kind !== 'selected') return;
  const view = state.mailbox;
  const snap = await state.store.open(view.name, !view.readOnly);
  for (const line of view.sync(snap, allowExpunge)) await session.untagged(line);
}
