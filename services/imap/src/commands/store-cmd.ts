// STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT.
// Untagged FETCH (FLAGS) for every changed message unless .SILENT; UID STORE
// adds UID (§6.4.8). \Recent cannot be stored and is ignored. A keyword new
// to the folder is announced with FLAGS and PERMANENTFLAGS (§7.2.6).
// RFC 7162 §3.1.3: (UNCHANGEDSINCE n) changes only messages not modified
// since n — the test and the change are one step in the store — and lists the
// others in [MODIFIED]; with CONDSTORE enabled every FETCH carries UID and
// MODSEQ, and .SILENT still reports the new MODSEQ.
import { parseModseq } from '../protocol/fetch-args.js';
import { parseFlag } from '../protocol/flags.js';
import { ParseError } from '../protocol/reader.js';
import { formatSet, parseSeqSet } from '../protocol/sequence.js';
import { ok, R } from '../responses.js';
import type { FlagOp } from '../store.js';
import { defineCommand, SELECTED } from './command.js';
import { announceFlags } from './select.js';
import { extensions } from './util.js';

const OPS: Record<string, FlagOp> = { '+': 'add', '-': 'remove', '=': 'set' };

export const store = defineCommand({
  name: 'STORE',
  states: SELECTED,
  holdsExpunge: true,
  parse(r) {
    r.sp();
    const set = parseSeqSet(r);
    r.sp();
    let unchangedSince: number | null = null;
    if (r.peek() === 0x28) {
      // store-modifiers (RFC 7162 §3.1.3, RFC 4466 §2.5)
      r.list(() => {
        if (!r.keyword('UNCHANGEDSINCE')) throw new ParseError('unknown store modifier');
        r.sp();
        unchangedSince = parseModseq(r, true);
        return null;
      }, false);
      r.sp();
    }
    const op = r.take('+') ? '+' : r.take('-') ? '-' : '=';
    if (!r.keyword('FLAGS') && !r.keyword('FLAGS.SILENT')) throw new ParseError('expected FLAGS');
    const silent = r.buf.toString('latin1', r.pos - 7, r.pos).toUpperCase() === '.SILENT';
    r.sp();
    const flags = r.peek() === 0x28 ? r.list(() => parseFlag(r)) : [parseFlag(r)];
    while (r.take(' ')) flags.push(parseFlag(r));
    return {
      set,
      op: OPS[op] as FlagOp,
      silent,
      flags: flags.filter((f) => f.toLowerCase() !== '\\recent'),
      unchangedSince: unchangedSince as number | null,
    };
  },
  async handle(session, { set, op, silent, flags, unchangedSince }, state, ctx) {
    const view = state.mailbox;
    if (unchangedSince !== null) session.enabled.add('CONDSTORE');
    if (view.readOnly) return R.readOnly;
    const uids = ctx.uid ? view.byUid(set) : view.bySeq(set);
    if (uids === null) return R.syntax;
    if (!uids.length) return R.done;
    const ext = extensions(session);
    const result = await state.store.setFlags(view.name, uids, op, flags, unchangedSince ?? undefined);
    const known = new Set(view.keywords.map((k) => k.toLowerCase()));
    const added = flags.filter((f) => !f.startsWith('\\') && !known.has(f.toLowerCase()));
    if (op !== 'remove' && added.length) {
      // A new array: the old one may be the folder's shared keyword list.
      view.keywords = [...view.keywords, ...added];
      await announceFlags(session, view.keywords, false);
    }
    const modified: number[] = [];
    const lines: string[] = [];
    for (const [uid, now] of result) {
      if (now.modified) {
        modified.push(ctx.uid ? uid : view.seqOf(uid));
        continue;
      }
      const m = view.meta.get(uid);
      if (m) view.meta.set(uid, { ...m, flags: now.flags, modseq: now.modseq });
      if (!silent) lines.push(view.flagsLine(uid, ext, ctx.uid));
      else if (ext.condstore) lines.push(view.flagsLine(uid, ext, ctx.uid, false));
    }
    await session.untaggedMany(lines);
    if (modified.length) return ok('Conditional STORE failed', `MODIFIED ${formatSet(modified)}`);
    return result.size < uids.length ? ok('Some messages were expunged', 'EXPUNGEISSUED') : R.done;
  },
});
