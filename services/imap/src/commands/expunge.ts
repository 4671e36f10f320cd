// EXPUNGE, UID EXPUNGE (RFC 4315 §2.1), CLOSE (RFC 3501 §6.4.2) and
// UNSELECT (RFC 3691). EXPUNGE responses go highest number first so each
// stays valid as the client applies them; under QRESYNC one VANISHED
// (RFC 7162 §3.2.10). With CONDSTORE enabled the tagged OK carries the new
// HIGHESTMODSEQ, after every other pending change has been reported, so the
// client may store it as its sync point.
import type { MailboxView } from '../mailbox-view.js';
import { parseSeqSet, type SeqSet } from '../protocol/sequence.js';
import { ok, R } from '../responses.js';
import type { Session } from '../session.js';
import type { MailStore } from '../store.js';
import { defineCommand, noArgs, SELECTED } from './command.js';
import { extensions } from './util.js';

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
  const lines = view.remove(removed, session ? extensions(session) : { condstore: false, qresync: false });
  if (session) await session.untaggedMany(lines);
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
    const view = state.mailbox;
    if (view.readOnly) return R.readOnly;
    await expungeDeleted(session, state.store, view, only);
    const ext = extensions(session);
    if (!ext.condstore) return R.done;
    const snap = await state.store.open(view.name, true);
    const lines = view.sync(snap, true, ext).filter((l) => !l.startsWith('OK [HIGHESTMODSEQ '));
    await session.untaggedMany(lines);
    return ok('Expunged', `HIGHESTMODSEQ ${view.highestModseq}`);
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
