// SORT and UID SORT (RFC 5256 §3; DISPLAYFROM/DISPLAYTO from RFC 5957).
// Matching is SEARCH's, the sort keys come from the header cache
// (sort/collect.ts); the ordering is sort/sort.ts.
import { parseSort } from '../protocol/sort-args.js';
import { R } from '../responses.js';
import { collect } from '../sort/collect.js';
import { sortMessages } from '../sort/sort.js';
import { defineCommand, SELECTED } from './command.js';

export const sort = defineCommand({
  name: 'SORT',
  states: SELECTED,
  // Sequence numbers are returned: no untagged EXPUNGE may move them (RFC 3501 §7.4.1).
  holdsExpunge: true,
  parse: (r) => parseSort(r),
  async handle(session, args, state, ctx) {
    const matched = await collect(state.mailbox, state.store, args.search.key);
    const sorted = sortMessages(matched, args.criteria);
    await session.untagged(`SORT${sorted.map((m) => ` ${ctx.uid ? m.uid : m.seq}`).join('')}`);
    return R.done;
  },
});
