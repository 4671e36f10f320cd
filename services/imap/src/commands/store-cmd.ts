// STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT.
// Untagged FETCH (FLAGS) for every changed message unless .SILENT; UID STORE
// adds UID (§6.4.8). \Recent cannot be stored and is ignored. A keyword new
// to the folder is announced with FLAGS and PERMANENTFLAGS (§7.2.6).
import { parseFlag } from '../protocol/flags.js';
import { ParseError } from '../protocol/reader.js';
import { parseSeqSet } from '../protocol/sequence.js';
import { ok, R } from '../responses.js';
import type { FlagOp } from '../store.js';
import { defineCommand, SELECTED } from './command.js';
import { announceFlags } from './select.js';

const OPS: Record<string, FlagOp> = { '+': 'add', '-': 'remove', '=': 'set' };

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
    return { set, op: OPS[op] as FlagOp, silent, flags: flags.filter((f) => f.toLowerCase() !== '\\recent') };
  },
  async handle(session, { set, op, silent, flags }, state, ctx) {
    const view = state.mailbox;
    if (view.readOnly) return R.readOnly;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    if (!uids.length) return R.done;
    const result = await state.store.setFlags(view.name, uids, op, flags);
    const known = new Set(view.keywords.map((k) => k.toLowerCase()));
    const added = flags.filter((f) => !f.startsWith('\\') && !known.has(f.toLowerCase()));
    if (op !== 'remove' && added.length) {
      view.keywords.push(...added);
      await announceFlags(session, view.keywords, false);
    }
    for (const [uid, now] of result) {
      const m = view.meta.get(uid);
      if (m) view.meta.set(uid, { ...m, flags: now });
      if (!silent) {
        const flagText = [...now, ...(view.recent.has(uid) ? ['\\Recent'] : [])].join(' ');
        await session.untagged(
          `${view.seqOf(uid)} FETCH (${ctx.uid ? `UID ${uid} ` : ''}FLAGS (${flagText}))`,
        );
      }
    }
    return result.size < uids.length ? ok('Some messages were expunged', 'EXPUNGEISSUED') : R.done;
  },
});
