// EXPUNGE, UID EXPUNGE (RFC 4315 §2.1), CLOSE (RFC 3501 §6.4.2) and
// UNSELECT (RFC 3691). EXPUNGE responses go highest number first so each
// stays valid as the client applies them.
import type { MailboxView } from '../mailbox-view.js';
import { parseSeqSet, type SeqSet } from '../protocol/sequence.js';
import { R } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { defineCommand, noArgs, SELECTED } from './command.js';

async function expungeDeleted(
  session: Session | null,
  store: MailStore,
  view: MailboxView,
  only: SeqSet | null,
) {
  const allowed = only ? new Set(view.byUid(only)) : null;
  const doomed = view.uids.filter(
    (u) => view.meta.get(u)?.flags.includes('\\Deleted') && (!allowed || allowed.has(u)),
  );
  if (!doomed.length) return;
  const removed = new Set(await store.expunge(view.name, doomed));
  for (let i = view.uids.length - 1; i >= 0; i--) {
    const uid = view.uids[i] as number;
    if (!removed.has(uid)) continue;
    view.uids.splice(i, 1);
    view.meta.delete(uid);
    view.recent.delete(uid);
    if (session) await session.untagged(`${i + 1} EXPUNGE`);
  }
}

export const expunge = defineCommand({
  name: 'EXPUNGE',
  states: SELECTED,
  parse: (r, ctx) => {
    if (!ctx.uid) return null;
    r.sp();
    return parseSeqSet(r);
  },
  async handle(session, only, state) {
    if (state.mailbox.readOnly) return R.readOnly;
    await expungeDeleted(session, state.store, state.mailbox, only);
    return R.done;
  },
});

export const close = defineCommand({
  name: 'CLOSE',
  states: SELECTED,
  parse: noArgs,
  async handle(session, _a, state) {
    // RFC 3501 §6.4.2: silently expunge, no untagged EXPUNGE; nothing on a read-only mailbox.
    if (!state.mailbox.readOnly) await expungeDeleted(null, state.store, state.mailbox, null);
    session.state = { kind: 'authenticated', user: state.user, store: state.store };
    return R.done;
  },
});

export const unselect = defineCommand({
  name: 'UNSELECT',
  states: SELECTED,
  parse: noArgs,
  async handle(session, _a, state) {
    session.state = { kind: 'authenticated', user: state.user, store: state.store };
    return R.done;
  },
});
