// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH RETURN (RFC 4731).
// Matching is in search-eval.ts; message bytes are read only for keys that need them.
import { parseSearch, type SearchKey } from '../protocol/search-args.js';
import { formatSet } from '../protocol/sequence.js';
import { R } from '../responses.js';
import { matches, needsMessage } from '../search-eval.js';
import { defineCommand, SELECTED } from './command.js';

export const search = defineCommand({
  name: 'SEARCH',
  states: SELECTED,
  holdsExpunge: true,
  parse: (r) => parseSearch(r),
  async handle(session, program, state, ctx) {
    const view = state.mailbox;
    const hits: number[] = [];
    const withBody = needsMessage(program.key as SearchKey);
    for (const uid of [...view.uids]) {
      const meta = view.meta.get(uid);
      if (!meta) continue;
      const parsed = withBody
        ? await state.store.read(view.name, uid).then(session.deps.parse, () => null)
        : null;
      if (withBody && !parsed) continue;
      if (matches(program.key, { view, uid, meta, parsed })) hits.push(ctx.uid ? uid : view.seqOf(uid));
    }
    if (program.returnOpts) {
      // RFC 4731 §3.1
      const parts = [`(TAG "${ctx.tag}")`];
      if (ctx.uid) parts.push('UID');
      const o = program.returnOpts;
      if (o.includes('MIN') && hits.length) parts.push(`MIN ${Math.min(...hits)}`);
      if (o.includes('MAX') && hits.length) parts.push(`MAX ${Math.max(...hits)}`);
      if (o.includes('ALL') && hits.length) parts.push(`ALL ${formatSet(hits)}`);
      if (o.includes('COUNT')) parts.push(`COUNT ${hits.length}`);
      await session.untagged(`ESEARCH ${parts.join(' ')}`);
    } else {
      await session.untagged(`SEARCH${hits.map((h) => ` ${h}`).join('')}`);
    }
    return R.done;
  },
});
