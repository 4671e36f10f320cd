// The last SORT and THREAD answers, reused while the matched messages are
// the same (Dovecot keeps its thread tree in dovecot.index.thread for the
// same reason: clients thread or sort a big folder again at every open).
// An order or a tree depends only on the matched messages' UIDs, sizes,
// INTERNALDATEs and header fields, and the fields are one read-only object
// per cached summary (collect.ts; fields read from a file are a new object
// each time, so they never match), so "the same" is checked exactly by
// identity, message by message — O(n), no sorting, no header read. Answers
// are kept as positions in the matched list, so sequence numbers come from
// the current session. Entries hang off the first message's Fields object
// (WeakMap): a folder whose summaries are dropped takes its entries along.
import type { Fields, Matched } from './collect.js';
import type { ThreadNode } from './thread-references.js';

interface Entry {
  key: string;
  uids: Uint32Array;
  sizes: Float64Array;
  arrival: Float64Array;
  fields: Fields[];
  value: unknown;
}

/** Programs remembered per folder (by first message): SORT orders and THREAD algorithms a client uses. */
const PER_FOLDER = 4;
const memo = new WeakMap<Fields, Entry[]>();

function same(e: Entry, messages: readonly Matched[]): boolean {
  if (e.uids.length !== messages.length) return false;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Matched;
    if (
      e.fields[i] !== m.fields ||
      e.uids[i] !== m.uid ||
      e.arrival[i] !== m.arrival ||
      e.sizes[i] !== m.size
    )
      return false;
  }
  return true;
}

/** The answer `compute` gives for `messages` under `key` (a program's sort criteria or algorithm), remembered. */
export function remembered<T>(key: string, messages: readonly Matched[], compute: () => T): T {
  const first = messages[0]?.fields;
  if (!first) return compute();
  let list = memo.get(first);
  const hit = list?.find((e) => e.key === key && same(e, messages));
  if (hit) return hit.value as T;
  const value = compute();
  const entry: Entry = {
    key,
    uids: Uint32Array.from(messages, (m) => m.uid),
    sizes: Float64Array.from(messages, (m) => m.size),
    arrival: Float64Array.from(messages, (m) => m.arrival),
    fields: messages.map((m) => m.fields),
    value,
  };
  if (!list) {
    list = [];
    memo.set(first, list);
  }
  const at = list.findIndex((e) => e.key === key);
  if (at >= 0) list.splice(at, 1);
  list.unshift(entry);
  if (list.length > PER_FOLDER) list.pop();
  return value;
}

/** A thread tree with positions in the matched list for messages (-1: a dummy). */
interface PosNode {
  at: number;
  children: PosNode[];
}

/** remembered for thread trees: kept as positions, given back as nodes of the current messages. */
export function rememberedThreads(
  key: string,
  messages: readonly Matched[],
  compute: () => ThreadNode[],
): ThreadNode[] {
  let made: ThreadNode[] | null = null;
  const tree = remembered(key, messages, () => {
    made = compute();
    return toPositions(made, messages);
  });
  return made ?? fromPositions(tree, messages);
}

// Both walks are iterative: a reply chain may be thousands of messages deep.
function toPositions(roots: ThreadNode[], messages: readonly Matched[]): PosNode[] {
  const at = new Map<Matched, number>(messages.map((m, i) => [m, i]));
  const conv = (n: ThreadNode): PosNode => ({ at: n.msg ? (at.get(n.msg) as number) : -1, children: [] });
  const out = roots.map(conv);
  const todo: Array<[ThreadNode, PosNode]> = roots.map((r, i) => [r, out[i] as PosNode]);
  for (let t = todo.pop(); t; t = todo.pop()) {
    for (const c of t[0].children) {
      const p = conv(c);
      t[1].children.push(p);
      todo.push([c, p]);
    }
  }
  return out;
}

function fromPositions(roots: PosNode[], messages: readonly Matched[]): ThreadNode[] {
  const conv = (p: PosNode): ThreadNode => ({
    msg: p.at < 0 ? null : (messages[p.at] as Matched),
    children: [],
  });
  const out = roots.map(conv);
  const todo: Array<[PosNode, ThreadNode]> = roots.map((r, i) => [r, out[i] as ThreadNode]);
  for (let t = todo.pop(); t; t = todo.pop()) {
    for (const c of t[0].children) {
      const n = conv(c);
      t[1].children.push(n);
      todo.push([c, n]);
    }
  }
  return out;
}
