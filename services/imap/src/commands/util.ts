// Helpers shared by several commands: mailbox arguments, login completion,
// mailbox synchronisation.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Extensions } from '../mailbox-view.js';
import { InvalidMailboxName, mailboxFromWire } from '../protocol/mailbox-name.js';
import type { Reader } from '../protocol/reader.js';
import { ok, R, type Status } from '../responses.js';
import type { Session } from '../session.js';

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
 * when `allowExpunge`; the view keeps vanished messages until then. The folder
 * is re-read when an event said it changed, when `force` (NOOP, CHECK, IDLE),
 * or when the last look is older than RESYNC_MS.
 */
export async function syncMailbox(session: Session, allowExpunge: boolean, force = false): Promise<void> {
  const state = session.state;
  if (state.kind !== 'selected') return;
  const view = state.mailbox;
  if (!force && !view.dirty && Date.now() - view.syncedAt < RESYNC_MS) return;
  const snap = await state.store.open(view.name, !view.readOnly);
  for (const line of view.sync(snap, allowExpunge, extensions(session))) await session.untagged(line);
}

/** RFC 7162: what CONDSTORE and QRESYNC change in this session's responses. */
export function extensions(session: Session): Extensions {
  return { condstore: session.enabled.has('CONDSTORE'), qresync: session.enabled.has('QRESYNC') };
}
