// STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT.
// Untagged FETCH (FLAGS) for every changed message unless .SILENT; UID STORE
// adds UID (§6.4.8). \Recent cannot be stored.
import { parseFlag } from '../protocol/flags.js';
import { ParseError } from '../protocol/reader.js';
import { parseSeqSet } from '../protocol/sequence.js';
import { R } from '../responses.js';
import { defineCommand, SELECTED } from './command.js';

export const store = defineCommand({
  name: 'STORE',
  states: SELECTED,
  holdsExpunge: true,
  parse(r) {
    r.sp();
    const set = parseSeqSet(r);
    r.sp();
    const op = r.take('+') ? '+' : r.take('-') ? '-' : '=';
    if (!r.keyword('FLAGS') && !r.keyword('FLAGS.SILENT')) throw new ParseError('expected FLAGS');
    const silent = r.buf.toString('latin1', r.pos - 7, r.pos).toUpperCase() === '.SILENT';
    r.sp();
    const flags = r.peek() === 0x28 ? r.list(() => parseFlag(r)) : [parseFlag(r)];
    while (r.take(' ')) flags.push(parseFlag(r));
    return { set, op, silent, flags };
  },
  async handle(session, { set, op, silent, flags }, state, ctx) {
    const view = state.mailbox;
    if (view.readOnly) return R.readOnly;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    const changes = uids.map((uid) => {
      const cur = view.meta.get(uid)?.flags ?? [];
      const next =
        op === '='
          ? flags
          : op === '+'
            ? [...new Set([...cur, ...flags])]
            : cur.filter((f) => !flags.includes(f));
      return { uid, flags: next };
    });
    const result = await state.store.setFlags(view.name, changes);
    for (const [uid, now] of result) {
      const m = view.meta.get(uid);
      if (m) view.meta.set(uid, { ...m, flags: now });
      for (const k of now) if (!k.startsWith('\\') && !view.keywords.includes(k)) view.keywords.push(k);
      if (!silent) {
        const flagText = [...now, ...(view.recent.has(uid) ? ['\\Recent'] : [])].join(' ');
        await session.untagged(
          `${view.seqOf(uid)} FETCH (${ctx.uid ? `UID ${uid} ` : ''}FLAGS (${flagText}))`,
        );
      }
    }
    return R.done;
  },
});
