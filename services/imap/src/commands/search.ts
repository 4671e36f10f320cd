// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH RETURN (RFC 4731)
// and the MODSEQ key (RFC 7162 §3.1.5: the result ends with the highest
// modseq of the messages found; the key enables CONDSTORE).
// Matching is in search-eval.ts; per message it loads only what the program
// needs: the cached index, the cached header fields, the header bytes, or the
// whole message.
import { type CachedIndex, coveredByHeads } from '../header-cache.js';
import { parseSearch, type SearchProgram, usesModseq } from '../protocol/search-args.js';
import { formatSet } from '../protocol/sequence.js';
import { R, type Status } from '../responses.js';
import { matches, NEED, needOf } from '../search-eval.js';
import type { Session } from '../session.js';
import { type Context, defineCommand, SELECTED } from './command.js';

const BATCH = 256;
/** Keys answered from the cached summaries alone hold no file in memory: larger batches, fewer store calls. */
const SUMMARY_BATCH = 4096;
/** Message files read at once. */
const READERS = 8;

export const search = defineCommand({
  name: 'SEARCH',
  states: SELECTED,
  holdsExpunge: true,
  parse: (r, ctx) => parseSearch(r, { utf8: ctx.utf8 }),
  async handle(session, program, state, ctx) {
    const view = state.mailbox;
    const { store } = state;
    const need = needOf(program.key);
    // Header keys over the cached fields need no file (header-cache.ts).
    const fromHeads = coveredByHeads(program.key);
    const hits: number[] = [];
    const withModseq = usesModseq(program.key);
    if (withModseq) session.enabled.add('CONDSTORE');
    let highest = 0;
    if (need === NEED.none) {
      // Flags, dates, sets (UID SEARCH ALL of a resync): mailbox state only, one synchronous walk.
      let at = 0;
      for (const uid of view.uids) {
        at++;
        const meta = view.meta.get(uid);
        if (!meta || !matches(program.key, { view, uid, meta, index: null, bytes: null })) continue;
        hits.push(ctx.uid ? uid : at);
        if (meta.modseq > highest) highest = meta.modseq;
      }
      return answer(session, program, ctx, hits, withModseq, highest);
    }
    const uids = [...view.uids];
    const summaryOnly = need < NEED.head || (need === NEED.head && fromHeads);
    const size = summaryOnly ? SUMMARY_BATCH : BATCH;
    // Keys answered from the summaries, on the folder as every session sees it: one map for all.
    const shared = summaryOnly && need >= NEED.index ? view.plain : null;
    const whole = shared ? await shared.summaries(() => store.summaries(view.name, uids)) : null;
    for (let i = 0; i < uids.length; i += size) {
      const batch = uids.slice(i, i + size);
      const indexes = (whole ?? (need >= NEED.index ? await store.summaries(view.name, batch) : null)) as Map<
        number,
        CachedIndex
      > | null;
      // The files this batch must read, a few at a time (most keys need none).
      const files = new Map<number, Buffer | null>();
      if (need >= NEED.head && !(need === NEED.head && fromHeads)) {
        let next = 0;
        const reader = async () => {
          while (next < batch.length) {
            const uid = batch[next++] as number;
            const index = indexes?.get(uid);
            if (!index) continue;
            const limit = need === NEED.head ? index.root.pos + index.root.header.physical : undefined;
            files.set(uid, await store.read(view.name, uid, limit).catch(() => null));
          }
        };
        await Promise.all(Array.from({ length: READERS }, reader));
      }
      for (const uid of batch) {
        const meta = view.meta.get(uid);
        if (!meta) continue;
        const index = indexes?.get(uid) ?? null;
        if (indexes && !index) continue; // expunged by another session
        let bytes: Buffer | null = null;
        // The cached fields stand in for the header (search-eval.ts reads them).
        const heads = need === NEED.head && fromHeads && index?.heads !== undefined ? index : undefined;
        if (heads) {
          if (matches(program.key, { view, uid, meta, index, bytes, heads })) {
            hits.push(ctx.uid ? uid : view.seqOf(uid));
            highest = Math.max(highest, meta.modseq);
          }
          continue;
        }
        if (need >= NEED.head && index) {
          const limit = need === NEED.head ? index.root.pos + index.root.header.physical : undefined;
          bytes = files.get(uid) ?? (await store.read(view.name, uid, limit).catch(() => null));
          if (!bytes) continue;
        }
        if (matches(program.key, { view, uid, meta, index, bytes })) {
          hits.push(ctx.uid ? uid : view.seqOf(uid));
          highest = Math.max(highest, meta.modseq);
        }
      }
    }
    return answer(session, program, ctx, hits, withModseq, highest);
  },
});

/** The untagged SEARCH (one join: a resync's UID SEARCH ALL lists every UID) or ESEARCH reply. */
async function answer(
  session: Session,
  program: SearchProgram,
  ctx: Context,
  hits: number[],
  withModseq: boolean,
  highest: number,
): Promise<Status> {
  if (program.returnOpts) {
    // RFC 4731 §3.1; hits ascend, so MIN and MAX are the ends.
    const parts = [`(TAG "${ctx.tag}")`];
    if (ctx.uid) parts.push('UID');
    const o = program.returnOpts;
    if (o.includes('MIN') && hits.length) parts.push(`MIN ${hits[0]}`);
    if (o.includes('MAX') && hits.length) parts.push(`MAX ${hits[hits.length - 1]}`);
    if (o.includes('ALL') && hits.length) parts.push(`ALL ${formatSet(hits)}`);
    if (o.includes('COUNT')) parts.push(`COUNT ${hits.length}`);
    if (withModseq && hits.length) parts.push(`MODSEQ ${highest}`);
    await session.untagged(`ESEARCH ${parts.join(' ')}`);
  } else {
    const tail = withModseq && hits.length ? ` (MODSEQ ${highest})` : '';
    await session.untagged(hits.length ? `SEARCH ${hits.join(' ')}${tail}` : 'SEARCH');
  }
  return R.done;
}
