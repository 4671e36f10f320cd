// THREAD=ORDEREDSUBJECT (RFC 5256 §2.1) and the thread-list syntax of the
// THREAD response (RFC 5256 §4: thread-list, thread-members, thread-nested).
import type { Matched } from './collect.js';
import { rememberedThreads } from './result-memo.js';
import { sentDate, sortMessages, subjectKey } from './sort.js';
import type { ThreadNode } from './thread-references.js';

/**
 * ORDEREDSUBJECT: messages sorted by base subject then sent date; each run
 * of one base subject is a thread whose first message is the parent of all
 * the others; threads ordered by their first message's sent date (ties: by
 * that message's number).
 */
export function threadOrderedSubject(messages: Matched[]): ThreadNode[] {
  return rememberedThreads('THREAD ORDEREDSUBJECT', messages, () => orderedSubjectNow(messages));
}

function orderedSubjectNow(messages: Matched[]): ThreadNode[] {
  const sorted = sortMessages(messages, [
    { key: 'SUBJECT', reverse: false },
    { key: 'DATE', reverse: false },
  ]);
  const threads: { date: number; uid: number; node: ThreadNode }[] = [];
  let prev: Buffer | null = null;
  for (const m of sorted) {
    const subject = subjectKey(m.fields);
    const last = threads[threads.length - 1];
    if (last && prev && subject.equals(prev)) last.node.children.push({ msg: m, children: [] });
    else threads.push({ date: sentDate(m), uid: m.uid, node: { msg: m, children: [] } });
    prev = subject;
  }
  threads.sort((a, b) => a.date - b.date || a.uid - b.uid);
  return threads.map((t) => t.node);
}

/**
 * The thread list: each root in parentheses; a node with one child is
 * followed by it after a space, a node with several children by each child
 * in its own parentheses (RFC 5256 §4 and its examples); a dummy root is
 * written as its children only. Iterative: a reply chain may be thousands
 * of messages deep.
 */
export function formatThreads(roots: ThreadNode[], num: (m: Matched) => number): string {
  type Task = string | { nodes: ThreadNode[] } | { member: ThreadNode };
  const out: string[] = [];
  const stack: Task[] = roots.map((member) => ({ member })).reverse();
  for (let t = stack.pop(); t !== undefined; t = stack.pop()) {
    if (typeof t === 'string') out.push(t);
    else if ('member' in t) {
      const n = t.member;
      if (n.children.length === 0) out.push(`(${num(n.msg as Matched)})`);
      else stack.push(')', { nodes: n.children }, n.msg ? `(${num(n.msg)} ` : '(');
    } else if (t.nodes.length === 1) {
      const n = t.nodes[0] as ThreadNode;
      if (n.children.length) stack.push({ nodes: n.children }, ' ');
      stack.push(String(num(n.msg as Matched)));
    } else {
      for (let i = t.nodes.length - 1; i >= 0; i--) stack.push({ member: t.nodes[i] as ThreadNode });
    }
  }
  return out.join('');
}
