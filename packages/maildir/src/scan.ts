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
): Promise<{ files: Map<string, FileRef>; checked: boolean }>;
export async function scanFolder(
  dir: string,
  check?: (base: string, name: string) => boolean,
): Promise<Map<string, FileRef> | { files: Map<string, FileRef>; checked: boolean }> {
  const out = new Map<string, FileRef>();
  let checked = true;
  for (const sub of ['new', 'cur'] as const) {
    for (const name of await names(join(dir, sub))) {
      if (UNUSABLE.test(name)) continue;
      const base = baseOf(name);
      // cur/ wins over new/: it is the later state of a moved file.
      out.set(base, { sub, name });
      if (checked && check && !check(base, name)) checked = false;
    }
  }
  return check ? { files: out, checked } : out;
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
