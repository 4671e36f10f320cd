// THREAD and UID THREAD (RFC 5256 §2, §4) with the ORDEREDSUBJECT and
// REFERENCES algorithms (sort/thread.ts, sort/thread-references.ts).
import { parseThread } from '../protocol/sort-args.js';
import { R } from '../responses.js';
import { collect } from '../sort/collect.js';
import { formatThreads, threadOrderedSubject } from '../sort/thread.js';
import { threadReferences } from '../sort/thread-references.js';
import { defineCommand, SELECTED } from './command.js';

export const thread = defineCommand({
  name: 'THREAD',
  states: SELECTED,
  // Sequence numbers are returned: no untagged EXPUNGE may move them (RFC 3501 §7.4.1).
  holdsExpunge: true,
  parse: (r) => parseThread(r),
  async handle(session, args, state, ctx) {
    const matched = await collect(state.mailbox, state.store, args.search.key);
    const roots = args.algorithm === 'REFERENCES' ? threadReferences(matched) : threadOrderedSubject(matched);
    // RFC 5256 §4: thread-data = "THREAD" [SP 1*thread-list]
    const list = formatThreads(roots, (m) => (ctx.uid ? m.uid : m.seq));
    await session.untagged(list ? `THREAD ${list}` : 'THREAD');
    return R.done;
  },
});
