// Listing the files of one folder by base name (the part before ':'), which
// never changes while a message lives: flag changes and new/ → cur/ only
// change the suffix and the directory.
//
// new/ is read before cur/: a file moved new/ → cur/ by another process while
// we list is then seen twice (deduplicated) rather than not at all. A rename
// inside cur/ can still be missed by a single readdir on some file systems;
// callers that are about to drop a base confirm it with a second scan.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing } from './fsutil.js';

export type Sub = 'new' | 'cur';

export interface FileRef {
  sub: Sub;
  /** Full file name, with the `:2,` info part if any. */
  name: string;
}

// A name we could not store in the line-based UID list, or a dot file.
const UNUSABLE = /^\.|[\u0000-\u001f\u007f]/;

export function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** The raw readdir() results of one scan, in readdir order (unusable names included). */
export interface Listing {
  new: string[];
  cur: string[];
}

/**
 * Lists the folder. With `check`, every file kept is also passed to it (in
 * the same pass: a 100,000-message folder is walked once, not once to list
 * and again to compare); the result's `checked` is false as soon as one call
 * returned false. A base seen in both new/ and cur/ may be checked twice.
 */
export async function scanFolder(dir: string): Promise<Map<string, FileRef>>;
export async function scanFolder(
  dir: string,
  check: (base: string, name: string) => boolean,
): Promise<Listed>;
export async function scanFolder(
  dir: string,
  check?: (base: string, name: string) => boolean,
): Promise<Map<string, FileRef> | Listed> {
  const r = await listFolder(dir, check);
  return check ? r : r.files;
}

export interface Listed {
  files: Map<string, FileRef>;
  /** False as soon as one `check` call returned false. */
  checked: boolean;
  listing: Listing;
  /**
   * Set when, thanks to `prior`, only names not in it were checked: then
   * `gone` holds the names of `prior` not listed now (the caller must see to
   * what the unchecked names stand on, see syncFolder).
   */
  gone?: string[];
}

/**
 * scanFolder, with the raw listing it was made from (see diffListings). With
 * `prior` (an earlier listing of the folder), `check` is called only for the
 * names not in it — unless more than `limit` names differ.
 */
export async function listFolder(
  dir: string,
  check?: (base: string, name: string) => boolean,
  prior?: Listing,
  limit = 0,
): Promise<Listed> {
  const out = new Map<string, FileRef>();
  let checked = true;
  const listing: Listing = { new: [], cur: [] };
  const gone: string[] = [];
  let stepped = prior !== undefined;
  /** new/ had only its changed names checked (its step diff held). */
  let newInPart = false;
  for (const sub of ['new', 'cur'] as const) {
    const all = await names(join(dir, sub));
    listing[sub] = all;
    const d = stepped && prior ? stepDiff(prior[sub], all, limit) : null;
    if (!d) stepped = false;
    else for (const name of d.gone) gone.push(name);
    if (sub === 'new') newInPart = d !== null;
    const fresh = d?.fresh;
    for (let k = 0; k < all.length; k++) {
      const name = all[k] as string;
      if (UNUSABLE.test(name)) continue;
      const base = baseOf(name);
      // cur/ wins over new/: it is the later state of a moved file.
      out.set(base, { sub, name });
      if (checked && check && (!fresh || fresh[k] === 1) && !check(base, name)) checked = false;
    }
  }
  // cur/ differed too much after new/ was checked only in part: check new/ whole.
  if (newInPart && !stepped && check && checked)
    for (const name of listing.new) {
      if (UNUSABLE.test(name)) continue;
      if (!check(baseOf(name), name)) {
        checked = false;
        break;
      }
    }
  return stepped ? { files: out, checked, listing, gone } : { files: out, checked, listing };
}

/**
 * The names of `y` not in `x` (marked 1 in `fresh`, by position) and of `x`
 * not in `y`. A directory that lost or gained a few entries keeps the others
 * in the same readdir order, so the names are compared in step and only the
 * ones out of step are hashed: after 100 changes in a 100,000-message folder
 * a few hundred names are looked at, not 100,000. Null when more than
 * `limit` names differ (then hashing them all is as cheap).
 */
function stepDiff(x: string[], y: string[], limit: number): { fresh: Uint8Array; gone: string[] } | null {
  // Names seen on one side only so far; a later match on the other side takes them out.
  const onlyX = new Set<string>();
  const onlyY = new Map<string, number>();
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const p = x[i];
    const q = y[j];
    if (p !== undefined && p === q) {
      i++;
      j++;
    } else if (p !== undefined && onlyY.delete(p)) i++;
    else if (q !== undefined && onlyX.delete(q)) j++;
    else {
      if (p !== undefined) {
        onlyX.add(p);
        i++;
      }
      if (q !== undefined) {
        onlyY.set(q, j);
        j++;
      }
      if (onlyX.size + onlyY.size > 2 * limit) return null;
    }
  }
  if (onlyX.size + onlyY.size > limit) return null;
  const fresh = new Uint8Array(y.length);
  for (const at of onlyY.values()) fresh[at] = 1;
  return { fresh, gone: [...onlyX] };
}

/**
 * The bases whose files differ between two listings of one folder (added,
 * gone, renamed or moved between new/ and cur/), by stepDiff. Null when more
 * than `limit` names differ.
 */
export function diffListings(a: Listing, b: Listing, limit: number): Set<string> | null {
  const out = new Set<string>();
  for (const sub of ['new', 'cur'] as const) {
    const y = b[sub];
    const d = stepDiff(a[sub], y, limit);
    if (!d) return null;
    for (let k = 0; k < y.length; k++)
      if (d.fresh[k] === 1 && !UNUSABLE.test(y[k] as string)) out.add(baseOf(y[k] as string));
    for (const name of d.gone) if (!UNUSABLE.test(name)) out.add(baseOf(name));
    if (out.size > limit) return null;
  }
  return out;
}

/** Finds the current file of one base name, wherever another process has moved it. */
export async function findBase(dir: string, base: string): Promise<FileRef | null> {
  for (const sub of ['cur', 'new'] as const) {
    const hit = (await names(join(dir, sub))).find((n) => baseOf(n) === base);
    if (hit) return { sub, name: hit };
  }
  return null;
}

/** Arrival order: numeric time prefix first (names start with the delivery time), then the name. */
export function compareBases(a: string, b: string): number {
  const ta = Number.parseInt(a, 10);
  const tb = Number.parseInt(b, 10);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}
