// Modification sequences (RFC 7162 CONDSTORE/QRESYNC), per folder, on the
// shared volume beside the UID list. File `postamt-modseq`, append-only
// between compactions, written only under the folder lock:
//
//   postamt-modseq 1 <UIDVALIDITY> <floor> <highest>\n   header
//   <modseq> <uid> <letters>\n     the message got this modseq; its flags letters then
//   <modseq> -<uid>\n              the message was expunged at this modseq
//
// Every change to a message's flags, every new message and every expunge
// takes the next modseq (one per message, ascending). The letters kept per
// message are what makes changes behind our back visible: a sync that finds a
// file whose `:2,` letters differ from the recorded ones (renamed by another
// program, by hand, or by a process that crashed before recording) gives that
// message a new modseq then — the same way the UID list learns of new files.
//
// Expunges are remembered for VANISHED (EARLIER) (RFC 7162 §3.2.5.1, §3.2.6),
// but not forever: compaction keeps the newest VANISHED_KEEP and raises
// `floor` to the newest one dropped. A client asking about a modseq below the
// floor gets every UID that is not there any more (RFC 7162 §3.2.5.1 lets the
// server report UIDs the client never knew).
//
// A UID list rebuilt with a new UIDVALIDITY rebuilds this file too, and so
// does damage to this file; the highest modseq never goes down (a damaged
// file's highest is salvaged from what is still legible).
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, writeFileAtomic } from './fsutil.js';
import type { FileRef } from './scan.js';
import type { UidList } from './uidlist.js';

export const MODSEQ_FILE = 'postamt-modseq';

/** Expunge records kept at compaction. */
export const VANISHED_KEEP = 10_000;

/** Letters of a message whose file name was not looked at yet (never equal to real letters). */
const UNKNOWN = '\n';

export interface ModseqEntry {
  modseq: number;
  /** The `:2,` info letters the message had when it got `modseq`. */
  letters: string;
}

export interface ModseqState {
  uidValidity: number;
  /** Expunges at or below this modseq are forgotten. */
  floor: number;
  highest: number;
  /** Every live message by UID. */
  msgs: Map<number, ModseqEntry>;
  /** Expunged [UID, modseq], ascending modseq. */
  vanished: Array<[number, number]>;
  /**
   * In memory only: the UIDs given a modseq (changed, new or expunged) since
   * this state was loaded, as UID, modseq pairs, ascending modseq; complete
   * above `loggedFrom`. Lets an open find the few messages that changed since
   * the last one without comparing them all (changedSince).
   */
  log?: number[];
  loggedFrom?: number;
}

/** Pairs kept in ModseqState.log; older ones are dropped half at a time. */
const LOG_KEEP = 4096;

function logChange(s: ModseqState, uid: number, modseq: number): void {
  if (!s.log) return;
  if (s.log.length >= 4 * LOG_KEEP) {
    s.loggedFrom = s.log[2 * LOG_KEEP - 1] as number;
    s.log.splice(0, 2 * LOG_KEEP);
  }
  s.log.push(uid, modseq);
}

/** UIDs (maybe repeated) given a modseq above `since`; null when the log does not go back that far. */
export function changedSince(s: ModseqState, since: number): number[] | null {
  const log = s.log;
  if (!log || s.loggedFrom === undefined || since < s.loggedFrom) return null;
  const out: number[] = [];
  for (let i = log.length - 2; i >= 0 && (log[i + 1] as number) > since; i -= 2) out.push(log[i] as number);
  return out;
}

interface Parsed {
  state: ModseqState;
  records: number;
  /** Bytes consumed: complete lines only. */
  size: number;
  partial: boolean;
}

const HEAD = /^postamt-modseq 1 (\d+) (\d+) (\d+)$/;

/** Where the info letters of a file name start (after the first ':' and '2,', as parseName reads them); -1: none. */
function lettersAt(name: string): number {
  const c = name.indexOf(':');
  return c >= 0 && name.startsWith('2,', c + 1) ? c + 3 : -1;
}

/** The info letters of a file name (`base:2,FS` → `FS`), the same as parseName's `flags`. */
export function lettersOf(name: string): string {
  const i = lettersAt(name);
  return i < 0 ? '' : name.slice(i);
}

/** lettersOf(name) === letters, without making a string (the sync fast path asks this of every file). */
export function hasLetters(name: string, letters: string): boolean {
  const i = lettersAt(name);
  if (i < 0) return letters === '';
  return name.length - i === letters.length && name.endsWith(letters);
}

function applyLines(p: Parsed, text: string): boolean {
  const s = p.state;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      p.partial = start < text.length;
      return true;
    }
    const line = text.slice(start, nl);
    start = nl + 1;
    p.size += Buffer.byteLength(line) + 1;
    p.records++;
    const sp = line.indexOf(' ');
    const modseq = Number(line.slice(0, sp));
    if (sp <= 0 || !Number.isSafeInteger(modseq) || modseq < 1) return false;
    const rest = line.slice(sp + 1);
    if (rest.startsWith('-')) {
      const uid = Number(rest.slice(1));
      if (!Number.isSafeInteger(uid) || uid < 1) return false;
      s.msgs.delete(uid);
      s.vanished.push([uid, modseq]);
      logChange(s, uid, modseq);
    } else {
      const sp2 = rest.indexOf(' ');
      const uid = Number(sp2 < 0 ? rest : rest.slice(0, sp2));
      if (!Number.isSafeInteger(uid) || uid < 1) return false;
      s.msgs.set(uid, { modseq, letters: sp2 < 0 ? '' : rest.slice(sp2 + 1) });
      logChange(s, uid, modseq);
    }
    if (modseq > s.highest) s.highest = modseq;
  }
}

function parse(text: string): Parsed | null {
  const nl = text.indexOf('\n');
  const head = HEAD.exec(nl < 0 ? '' : text.slice(0, nl));
  if (!head) return null;
  const state: ModseqState = {
    uidValidity: Number(head[1]),
    floor: Number(head[2]),
    highest: Number(head[3]),
    msgs: new Map(),
    vanished: [],
  };
  const p: Parsed = { state, records: 0, size: nl + 1, partial: false };
  if (!applyLines(p, text.slice(nl + 1))) return null;
  // What was on disk at load is the base line, not a change.
  state.log = [];
  state.loggedFrom = state.highest;
  return p;
}

function serialize(s: ModseqState): string {
  const parts = [`${MODSEQ_FILE} 1 ${s.uidValidity} ${s.floor} ${s.highest}\n`];
  for (const [uid, modseq] of s.vanished) parts.push(`${modseq} -${uid}\n`);
  for (const [uid, e] of s.msgs) parts.push(`${e.modseq} ${uid} ${e.letters}\n`);
  return parts.join('');
}

/**
 * Per folder directory. Unlike the UID list, the state is updated in place
 * (copying 100,000 entries per flag change would cost more than the change):
 * callers read what they need from it synchronously and keep values, not it.
 */
const cache = new Map<string, { ino: number; p: Parsed }>();
const CACHE_MAX = 2000;

async function readTail(path: string, from: number, to: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function load(dir: string): Promise<Parsed | null> {
  const path = join(dir, MODSEQ_FILE);
  try {
    const st = await stat(path);
    const hit = cache.get(dir);
    if (hit && hit.ino === st.ino) {
      if (hit.p.size === st.size) return hit.p;
      if (st.size > hit.p.size && !hit.p.partial) {
        if (applyLines(hit.p, await readTail(path, hit.p.size, st.size))) return hit.p;
      }
    }
    cache.delete(dir);
    const p = parse(await readFile(path, 'utf8'));
    if (!p) return null;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(dir, { ino: st.ino, p });
    return p;
  } catch (e) {
    if (isMissing(e)) {
      cache.delete(dir);
      return null;
    }
    throw e;
  }
}

/** The folder's modseq state as on disk now; null when there is none yet (or it is unreadable). */
export async function readModseq(dir: string): Promise<ModseqState | null> {
  return (await load(dir))?.state ?? null;
}

/** A message's modseq as recorded, if its file `name` has the recorded letters (else the change is not recorded yet). */
export function modseqOf(s: ModseqState, uid: number, name: string): number | null {
  const e = s.msgs.get(uid);
  return e && hasLetters(name, e.letters) ? e.modseq : null;
}

/**
 * UIDs expunged after `since`, ascending; null when the log no longer goes
 * back that far (the caller then reports every UID that is not there).
 */
export function expungedSince(s: ModseqState, since: number): number[] | null {
  if (since < s.floor) return null;
  const out: number[] = [];
  // Ascending modseq: walk back from the newest.
  for (let i = s.vanished.length - 1; i >= 0; i--) {
    const [uid, modseq] = s.vanished[i] as [number, number];
    if (modseq <= since) break;
    out.push(uid);
  }
  return out.sort((a, b) => a - b);
}

/** The highest modseq a damaged file still shows (0 when there is none): a rebuilt state continues above it. */
async function salvageHighest(dir: string): Promise<number> {
  const text = await readFile(join(dir, MODSEQ_FILE), 'utf8').catch(() => '');
  let max = 0;
  for (const m of text.matchAll(/^(?:postamt-modseq 1 \d+ (\d+) (\d+)|(\d+) )/gm))
    for (const n of [m[1], m[2], m[3]])
      if (n && Number.isSafeInteger(Number(n))) max = Math.max(max, Number(n));
  return max;
}

async function rewrite(dir: string, s: ModseqState): Promise<Parsed> {
  if (s.vanished.length > VANISHED_KEEP) {
    const dropped = s.vanished.splice(0, s.vanished.length - VANISHED_KEEP);
    // Ascending: the last one dropped is the newest forgotten.
    s.floor = Math.max(s.floor, (dropped[dropped.length - 1] as [number, number])[1]);
  }
  const text = serialize(s);
  cache.delete(dir);
  await writeFileAtomic(join(dir, MODSEQ_FILE), text);
  const st = await stat(join(dir, MODSEQ_FILE));
  const p: Parsed = { state: s, records: s.msgs.size + s.vanished.length, size: st.size, partial: false };
  cache.set(dir, { ino: st.ino, p });
  return p;
}

export interface ModseqChange {
  uid: number;
  /** New letters; null: expunged. */
  letters: string | null;
}

/**
 * Gives each change the next modseq and writes them (appended and fsynced,
 * or the file compacted) onto the state on disk. Caller holds the folder
 * lock. Returns the modseq given to each change, in order.
 */
export async function recordChanges(dir: string, changes: readonly ModseqChange[]): Promise<number[]> {
  const p = await load(dir);
  if (!p) throw new Error('modseq state missing');
  return record(dir, p, changes);
}

async function record(dir: string, p: Parsed, changes: readonly ModseqChange[]): Promise<number[]> {
  const s = p.state;
  const given: number[] = [];
  const lines: string[] = [];
  for (const c of changes) {
    const modseq = ++s.highest;
    given.push(modseq);
    if (c.letters === null) {
      s.msgs.delete(c.uid);
      s.vanished.push([c.uid, modseq]);
      logChange(s, c.uid, modseq);
      lines.push(`${modseq} -${c.uid}\n`);
    } else {
      s.msgs.set(c.uid, { modseq, letters: c.letters });
      logChange(s, c.uid, modseq);
      lines.push(`${modseq} ${c.uid} ${c.letters}\n`);
    }
  }
  if (lines.length === 0) return given;
  p.records += lines.length;
  if (p.partial || p.records > 2 * s.msgs.size + 1000 || s.vanished.length > 2 * VANISHED_KEEP) {
    await rewrite(dir, s);
    return given;
  }
  const text = lines.join('');
  const path = join(dir, MODSEQ_FILE);
  const fh = await open(path, 'a', 0o600);
  try {
    const st = await fh.stat();
    await fh.write(text);
    await fh.sync();
    const hit = cache.get(dir);
    if (hit && hit.p === p && hit.ino === st.ino && p.size === st.size) p.size += Buffer.byteLength(text);
    else cache.delete(dir);
  } finally {
    await fh.close();
  }
  return given;
}

/**
 * Brings the state in line with a synced UID list (caller holds the folder
 * lock): expunged UIDs, new UIDs and letters that changed get modseqs. With
 * `only`, just those files are looked at (the others were not scanned). A
 * missing state, or one of another UIDVALIDITY, is rebuilt: every message
 * then gets one new modseq.
 */
export async function syncModseq(
  dir: string,
  list: UidList,
  files: Map<string, FileRef>,
  only?: Iterable<string>,
): Promise<ModseqState> {
  const p = await load(dir);
  if (!p || p.state.uidValidity !== list.uidValidity) {
    const highest = (p?.state.highest ?? (await salvageHighest(dir))) + 1;
    const msgs = new Map<number, ModseqEntry>();
    for (const [base, uid] of list.uids) {
      const ref = files.get(base);
      msgs.set(uid, { modseq: highest, letters: ref && !only ? lettersOf(ref.name) : UNKNOWN });
    }
    const s: ModseqState = {
      uidValidity: list.uidValidity,
      floor: highest,
      highest,
      msgs,
      vanished: [],
      log: [],
      loggedFrom: highest,
    };
    return (await rewrite(dir, s)).state;
  }
  const s = p.state;
  const changes: ModseqChange[] = [];
  const bases = only ?? files.keys();
  for (const base of bases) {
    const uid = list.uids.get(base);
    const ref = files.get(base);
    if (uid === undefined || !ref) continue;
    const letters = lettersOf(ref.name);
    if (s.msgs.get(uid)?.letters !== letters) changes.push({ uid, letters });
  }
  const added = changes.filter((c) => !s.msgs.has(c.uid)).length;
  if (s.msgs.size + added !== list.uids.size) {
    const live = new Set(list.uids.values());
    for (const uid of s.msgs.keys()) if (!live.has(uid)) changes.push({ uid, letters: null });
  }
  // Expunges first, then changes in UID order: a client sees modseqs ascend with UIDs for new mail.
  changes.sort((a, b) => (a.letters === null ? 0 : 1) - (b.letters === null ? 0 : 1) || a.uid - b.uid);
  await record(dir, p, changes);
  return s;
}
