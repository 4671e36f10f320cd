// Listing a folder's messages with their Maildir info: size from the `,S=`
// field (or stat), flags from the `:2,` suffix.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface MessageFile {
  /** Base name without the `:2,` info part: stable while flags change and new/ → cur/. */
  base: string;
  name: string;
  path: string;
  sub: 'new' | 'cur';
  size: number;
  flags: string;
}

export function parseName(name: string): { base: string; flags: string; size: number | null } {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  const info = colon < 0 ? '' : name.slice(colon + 1);
  const flags = info.startsWith('2,') ? info.slice(2) : '';
  return { base, flags, size: sizeInName(base) };
}

/** The size in a base name: the digits after the first `,S=` that has any (what /,S=(\d+)/ finds), without a RegExp. */
export function sizeInName(base: string): number | null {
  for (let i = base.indexOf(',S='); i >= 0; i = base.indexOf(',S=', i + 1)) {
    let j = i + 3;
    for (let c = base.charCodeAt(j); c >= 48 && c <= 57; c = base.charCodeAt(++j));
    if (j > i + 3) return Number(base.slice(i + 3, j));
  }
  return null;
}

export async function listMessages(dir: string): Promise<MessageFile[]> {
  const out: MessageFile[] = [];
  for (const sub of ['new', 'cur'] as const) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = parseName(name);
      const path = join(dir, sub, name);
      const size = p.size ?? (await stat(path).catch(() => null))?.size;
      if (size === undefined) continue; // renamed away by another process since readdir
      out.push({ base: p.base, name, path, sub, size, flags: p.flags });
    }
  }
  // Names start with the delivery time, so this is arrival order.
  return out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}
