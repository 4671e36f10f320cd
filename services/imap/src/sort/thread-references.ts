// THREAD=REFERENCES (RFC 5256 §2.2 "REFERENCES"), steps numbered as there.
// Where the RFC leaves a choice we do as Dovecot, so answers match it:
// - (1) a message without a valid Message-ID, or whose Message-ID an earlier
//   message already has, gets a unique one;
// - (1)(A) when a link would make a loop, or the child already has another
//   parent, the existing link stays; (1)(B) a message's own parent is the
//   last reference (In-Reply-To's first msg-id when References has none);
// - (2)/(3) dummies are dropped by hanging each message on its nearest real
//   ancestor, or on the topmost dummy if there is none; a dummy root with
//   one child is replaced by it;
// - (4) siblings and roots sort by sent date (INTERNALDATE when the Date
//   cannot be parsed), then UID; a dummy sorts as its oldest child;
// - (5) subject grouping uses the oldest child's subject for a dummy root.
import { type BaseSubject, baseSubject } from './base-subject.js';
import type { Fields, Matched } from './collect.js';
import { messageIds } from './message-id.js';
import { rememberedThreads } from './result-memo.js';
import { sentDate } from './sort.js';

/**
 * A message's own id and the ids of its parents (References, else the first
 * of In-Reply-To), kept per Fields object (collect.ts keeps one per cached
 * summary): a warm THREAD parses no id. Read only.
 */
const ids = new WeakMap<Fields, { id: string | undefined; refs: string[] }>();
function idsOf(f: Fields): { id: string | undefined; refs: string[] } {
  let v = ids.get(f);
  if (!v) {
    let refs = messageIds(f.references);
    if (refs.length === 0) refs = messageIds(f['in-reply-to']).slice(0, 1);
    v = { id: messageIds(f['message-id'])[0], refs };
    ids.set(f, v);
  }
  return v;
}

/** baseSubject of a message's Subject, kept per Fields object like its ids (read only). */
const subjects = new WeakMap<Fields, BaseSubject>();
function subjectOf(f: Fields): BaseSubject {
  let v = subjects.get(f);
  if (!v) {
    v = baseSubject(f.subject ?? '');
    subjects.set(f, v);
  }
  return v;
}

/** A thread tree node: a message, or a dummy (msg null) whose children are roots merged by subject. */
export interface ThreadNode {
  msg: Matched | null;
  children: ThreadNode[];
}

interface IdNode {
  msg: Matched | null;
  parent: IdNode | null;
  /** Some node has (or had) this one as parent: only then can it be an ancestor. */
  hasChildren: boolean;
}

function hasAncestor(node: IdNode, ancestor: IdNode): boolean {
  for (let n: IdNode | null = node; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/** (1)(A): link child under parent unless the child already has a parent or that makes a loop. */
function link(parent: IdNode, child: IdNode): void {
  if (child.parent !== null || parent === child) return;
  if (child.hasChildren && hasAncestor(parent, child)) return;
  child.parent = parent;
  parent.hasChildren = true;
}

/** (1): the id table, in the order ids were first seen. */
function linkMessages(messages: Matched[]): IdNode[] {
  const byId = new Map<string, IdNode>();
  const all: IdNode[] = [];
  const nodeFor = (id: string): IdNode => {
    let n = byId.get(id);
    if (!n) {
      n = { msg: null, parent: null, hasChildren: false };
      byId.set(id, n);
      all.push(n);
    }
    return n;
  };
  for (const m of messages) {
    const { id, refs } = idsOf(m.fields);
    let self = id === undefined ? null : nodeFor(id);
    if (!self || self.msg) {
      self = { msg: null, parent: null, hasChildren: false };
      all.push(self);
    }
    self.msg = m;
    let parent: IdNode | null = null;
    for (const ref of refs) {
      const n = nodeFor(ref);
      if (parent) link(parent, n);
      parent = n;
    }
    // (1)(B): the last reference is the parent; a different one from a truncated References goes.
    if (self.parent !== parent && self.parent !== null) self.parent = null;
    if (parent) link(parent, self);
  }
  return all;
}

interface Root {
  node: ThreadNode;
  /** Sort position: sent date and UID (of the oldest child for a dummy). */
  date: number;
  uid: number;
  parent: Root | null;
  replyOrForward: boolean;
  ignore: boolean;
}

const byDateUid = (a: { date: number; uid: number }, b: { date: number; uid: number }) =>
  a.date - b.date || a.uid - b.uid;

function sortChildren(node: ThreadNode): void {
  if (node.children.length < 2) return;
  const keyed = node.children.map((c) => ({
    c,
    date: sentDate(c.msg as Matched),
    uid: (c.msg as Matched).uid,
  }));
  keyed.sort(byDateUid);
  node.children = keyed.map((k) => k.c);
}

/** (4): dummy roots take their oldest child's place; one child replaces its dummy. */
function sortRoots(roots: Root[]): Root[] {
  for (const r of roots) {
    if (r.ignore) continue;
    if (r.node.msg) {
      r.date = sentDate(r.node.msg);
      r.uid = r.node.msg.uid;
      continue;
    }
    if (r.node.children.length === 0) {
      r.ignore = true;
      continue;
    }
    sortChildren(r.node);
    const first = r.node.children[0] as ThreadNode;
    if (r.node.children.length === 1) r.node = first;
    r.date = sentDate(first.msg as Matched);
    r.uid = (first.msg as Matched).uid;
  }
  return roots.sort(byDateUid);
}

/** (5)(B) and (C): roots with the same base subject come together. */
function mergeBySubject(roots: Root[]): boolean {
  const table = new Map<string, Root>();
  for (const r of roots) {
    if (r.ignore) continue;
    const m = r.node.msg ?? (r.node.children[0]?.msg as Matched);
    if (m.fields.subject === null) continue;
    const { base, replyOrForward } = subjectOf(m.fields);
    if (base === '') continue;
    const dummy = r.node.msg === null;
    const held = table.get(base);
    if (!held) table.set(base, r);
    else if (held.node.msg !== null && (dummy || (held.replyOrForward && !replyOrForward))) {
      held.parent = r;
      table.set(base, r);
    } else r.parent = held;
    r.replyOrForward = replyOrForward;
  }
  let changed = false;
  const count = roots.length;
  for (let i = 0; i < count; i++) {
    const cur = roots[i] as Root;
    if (!cur.parent || cur.ignore) continue;
    changed = true;
    let top = cur.parent;
    while (top.parent) top = top.parent;
    if (cur.node.msg === null) {
      // Both dummies: the children of both become siblings.
      top.node.children = cur.node.children.concat(top.node.children);
      cur.node.children = [];
      cur.ignore = true;
    } else if (top.node.msg === null || (cur.replyOrForward && !top.replyOrForward)) {
      top.node.children.push(cur.node);
      cur.ignore = true;
    } else {
      const dummy: Root = {
        node: { msg: null, children: [cur.node, top.node] },
        date: 0,
        uid: 0,
        parent: null,
        replyOrForward: false,
        ignore: false,
      };
      top.parent = dummy;
      top.ignore = true;
      cur.ignore = true;
      roots.push(dummy);
    }
  }
  return changed;
}

/** The REFERENCES threads of the matched messages (remembered while they stay the same: result-memo.ts). */
export function threadReferences(messages: Matched[]): ThreadNode[] {
  return rememberedThreads('THREAD REFERENCES', messages, () => threadNow(messages));
}

function threadNow(messages: Matched[]): ThreadNode[] {
  const ids = linkMessages(messages);
  // (2) roots and (3) dummies: each message hangs on its nearest real ancestor.
  const nodes = new Map<IdNode, ThreadNode>(ids.map((n) => [n, { msg: n.msg, children: [] }]));
  const roots: Root[] = [];
  for (const n of ids) {
    const tn = nodes.get(n) as ThreadNode;
    if (n.parent === null) {
      roots.push({ node: tn, date: 0, uid: 0, parent: null, replyOrForward: false, ignore: false });
      continue;
    }
    if (!n.msg) continue;
    let p = n.parent;
    while (!p.msg && p.parent) p = p.parent;
    (nodes.get(p) as ThreadNode).children.push(tn);
  }
  sortRoots(roots);
  if (mergeBySubject(roots)) sortRoots(roots);
  const out = roots.filter((r) => !r.ignore && (r.node.msg || r.node.children.length > 0)).map((r) => r.node);
  // Iterative: a reply chain may be thousands of messages deep.
  const todo = [...out];
  for (let n = todo.pop(); n; n = todo.pop()) {
    sortChildren(n);
    for (const c of n.children) todo.push(c);
  }
  return out;
}
