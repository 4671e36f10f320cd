// The table of IMAP commands and the one dispatcher: syntax of the tag and
// name, known command, valid state — in that order — before any handler
// runs; then pending mailbox changes where RFC 3501 §7.4.1 allows; then the
// tagged status (every error through toImapResponse).
import { Reader } from '../protocol/reader.js';
import { R, toImapResponse } from '../responses.js';
import { MAX_ERRORS, type Session } from '../session.js';
import { append } from './append.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import type { Command } from './command.js';
import { compress } from './compress.js';
import { copy, move } from './copy.js';
import { close, expunge, unselect } from './expunge.js';
import { fetch } from './fetch.js';
import { idle } from './idle.js';
import { list, lsub } from './list.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { create, del, rename, subscribe, unsubscribe } from './mailboxes.js';
import { enable, getquota, getquotaroot, id, namespace } from './misc.js';
import { check, noop } from './noop.js';
import { search } from './search.js';
import { examine, select } from './select.js';
import { sort } from './sort.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store } from './store-cmd.js';
import { thread } from './thread.js';
import { syncMailbox } from './util.js';

const ALL: Command[] = [
  append,
  authenticate,
  capability,
  check,
  close,
  compress,
  copy,
  create,
  del,
  enable,
  examine,
  expunge,
  fetch,
  getquota,
  getquotaroot,
  id,
  idle,
  list,
  login,
  logout,
  lsub,
  move,
  namespace,
  noop,
  rename,
  search,
  select,
  sort,
  starttls,
  status,
  store,
  subscribe,
  thread,
  unselect,
  unsubscribe,
];

export const commands: ReadonlyMap<string, Command> = new Map(ALL.map((c) => [c.name, c]));

/** RFC 3501 §6.4.8 and extensions: which commands have a UID form. */
const UID_FORMS = new Set(['COPY', 'MOVE', 'FETCH', 'SEARCH', 'STORE', 'EXPUNGE', 'SORT', 'THREAD']);

export async function dispatch(session: Session, tag: string, bytes: Buffer): Promise<void> {
  const r = new Reader(bytes);
  let command: Command | undefined;
  let uid = false;
  let parsed = true;
  try {
    r.tag();
    r.sp();
    let name = r.atom().toUpperCase();
    if (name === 'UID') {
      r.sp();
      name = r.atom().toUpperCase();
      uid = true;
      if (!UID_FORMS.has(name)) name = '';
    }
    command = commands.get(name);
  } catch {
    parsed = false;
  }
  if (!parsed) {
    session.errors++;
    await session.status(tag, R.syntax);
  } else if (!command) {
    session.errors++;
    await session.status(tag, R.unknown);
  } else if (!command.states.includes(session.state.kind)) {
    session.errors++;
    await session.status(tag, R.wrongState);
  } else {
    session.deps.onCommand?.(command.name);
    let result: Awaited<ReturnType<Command['run']>>;
    try {
      result = await command.run(session, r, session.state, {
        tag,
        uid,
        utf8: session.enabled.has('UTF8=ACCEPT'),
      });
    } catch (err) {
      result = toImapResponse(err);
      if (result.kind === 'BAD') session.errors++;
      else if (result.code === 'UNAVAILABLE')
        session.log.error({ err, command: command.name }, 'command failed');
    }
    if (result) {
      if (session.state.kind === 'selected' && command.name !== 'IDLE') {
        const force = command.name === 'NOOP' || command.name === 'CHECK';
        await syncMailbox(session, uid || !command.holdsExpunge, force).catch((err: unknown) =>
          session.log.warn({ err }, 'mailbox sync failed'),
        );
      }
      await session.status(tag, result);
    }
  }
  if (session.errors >= MAX_ERRORS) await session.abort(R.byeTooManyErrors);
}
