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
  const m = /,S=(\d+)/.exec(base);
  return { base, flags, size: m ? Number(m[1]) : null };
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
