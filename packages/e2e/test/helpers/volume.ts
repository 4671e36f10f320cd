// Reads the data volume the way an auditor would: which queue ids were
// delivered where (Maildir new/ and cur/ of every folder, and the quarantine),
// and what is left in the spool.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const QUEUE_ID = /[0-9A-Z]{26}/;

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(path, out);
    else if (st?.isFile()) out.push(path);
  }
}

/** Maildir name of a quarantine notice: `<queue id>_n<recipient hash>` (filter's delivery key, kind n). */
const NOTICE = /[0-9A-Z]{26}_n[0-9a-f]{12}/;

/**
 * Queue id → the visible message files that carry it (Maildir new/cur,
 * quarantine); `notices: true` lists the quarantine notices instead.
 */
export function deliveredFiles(data: string, opts: { notices?: boolean } = {}): Map<string, string[]> {
  const files: string[] = [];
  walk(join(data, 'mail'), files);
  walk(join(data, 'quarantine'), files);
  const byId = new Map<string, string[]>();
  for (const path of files) {
    const rel = relative(data, path);
    const parts = rel.split('/');
    const inMaildir = parts[0] === 'mail' && ['new', 'cur'].includes(parts[parts.length - 2] ?? '');
    const inQuarantine = parts[0] === 'quarantine' && parts.length === 2 && !rel.endsWith('.json');
    if (!inMaildir && !inQuarantine) continue;
    const name = parts[parts.length - 1] ?? '';
    if (NOTICE.test(name) !== (opts.notices === true)) continue;
    const id = QUEUE_ID.exec(name)?.[0];
    if (!id) continue;
    byId.set(id, [...(byId.get(id) ?? []), rel]);
  }
  return byId;
}

/** Files in Maildir tmp/ directories (half-written deliveries). */
export function maildirTmpFiles(data: string): string[] {
  const files: string[] = [];
  walk(join(data, 'mail'), files);
  return files.filter((f) => f.split('/').at(-2) === 'tmp');
}

export function spoolState(data: string): { committed: string[]; tmp: string[] } {
  const spool = join(data, 'spool');
  const committed = existsSync(spool) ? readdirSync(spool).filter((n) => n.endsWith('.msg')) : [];
  const tmpDir = join(spool, 'tmp');
  const tmp = existsSync(tmpDir) ? readdirSync(tmpDir) : [];
  return { committed, tmp };
}

/** Test token (X-E2E-Token header) → visible message files carrying it. */
export function tokensDelivered(data: string): Map<string, string[]> {
  const byToken = new Map<string, string[]>();
  for (const paths of deliveredFiles(data).values()) {
    for (const rel of paths) {
      const head = readHead(join(data, rel));
      const token = /^X-E2E-Token: (\S+)/m.exec(head)?.[1];
      if (token) byToken.set(token, [...(byToken.get(token) ?? []), rel]);
    }
  }
  return byToken;
}

/** The first 16 KB of a file, as latin1. */
export function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
}
