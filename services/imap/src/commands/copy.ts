// COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (RFC 4315 §3).
// MOVE reports the source messages as EXPUNGEd (RFC 6851 §3.3), COPYUID first
// in an untagged OK. A missing target gets [TRYCREATE] (RFC 3501 §6.4.7).
// Transfers into or out of Junk queue learn jobs (learn.ts).
import { formatList, parseSeqSet } from '../protocol/sequence.js';
import { no, ok, R, targetMustExist } from '../responses.js';
import { type Context, defineCommand, SELECTED } from './command.js';
import { extensions, mailboxArg } from './util.js';

const parse = (r: import('../protocol/reader.js').Reader, ctx: Context) => {
  r.sp();
  const set = parseSeqSet(r);
  r.sp();
  return { set, to: mailboxArg(r, ctx) };
};

const copyUid = (v: number, pairs: Array<[number, number]>) =>
  `COPYUID ${v} ${formatList(pairs.map(([s]) => s))} ${formatList(pairs.map(([, d]) => d))}`;

export const copy = defineCommand({
  name: 'COPY',
  states: SELECTED,
  parse,
  async handle(session, { set, to }, state, ctx) {
    const view = state.mailbox;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    if (!uids.length) {
      await targetMustExist(state.store.status(to));
      return ok('Nothing to copy');
    }
    const res = await targetMustExist(state.store.copy(view.name, uids, to));
    if (to === view.name) view.stale();
    await session.deps.learner.transferred(state.user, state.store, view.name, to, res);
    if (res.pairs.length < uids.length) return no('Some messages were expunged', 'EXPUNGEISSUED');
    return ok('Copied', copyUid(res.uidValidity, res.pairs));
  },
});

export const move = defineCommand({
  name: 'MOVE',
  states: SELECTED,
  parse,
  async handle(session, { set, to }, state, ctx) {
    const view = state.mailbox;
    if (view.readOnly) return R.readOnly;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    if (!uids.length) {
      await targetMustExist(state.store.status(to));
      return ok('Nothing to move');
    }
    const res = await targetMustExist(state.store.move(view.name, uids, to));
    await session.deps.learner.transferred(state.user, state.store, view.name, to, res);
    if (res.pairs.length) await session.untagged(`OK [${copyUid(res.uidValidity, res.pairs)}] Moved`);
    // EXPUNGE per message, or VANISHED under QRESYNC (RFC 7162 §3.2.10).
    await session.untaggedMany(view.remove(new Set(res.pairs.map(([s]) => s)), extensions(session)));
    if (to === view.name) view.stale();
    return R.done;
  },
});
