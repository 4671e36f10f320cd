// The quarantine on the shared volume: `quarantine/<id>` holds the message as
// it would have been delivered (filter headers + original), and
// `quarantine/<id>.json` the verdict, envelope and scan results for the admin
// service. Both are written to tmp/, fsynced and renamed; the JSON is written
// last, so its presence means the entry is whole, and a retry that finds it
// does nothing (idempotent like Maildir delivery).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDirSync } from '@postamt/maildir';

export interface QuarantineEntry {
  id: string;
  quarantinedAt: string;
  verdict: unknown;
  envelope: unknown;
  localRecipients: string[];
  remoteRecipients: string[];
  scan: unknown;
}

// Every file-system call runs on the spot, fsyncs included: a thread-pool
// round trip costs about as much CPU as the call, and this worker serves no
// clients — waiting for the disk only delays its other jobs (as in delivery,
// DeliverOptions.syncInline).

/** Writes `parts` to a new file `path` and fsyncs it. */
async function writeDurably(path: string, parts: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
  const fd = openSync(path, 'wx', 0o640);
  try {
    for await (const part of parts) {
      const buf = Buffer.isBuffer(part) ? part : Buffer.from(part);
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function quarantineDir(dataDir: string): string {
  return join(dataDir, 'quarantine');
}

export async function quarantine(
  dataDir: string,
  entry: QuarantineEntry,
  prefix: Buffer,
  /** The message after the rewritten header: in memory, or streamed when big. */
  body: () => Readable | Buffer,
): Promise<{ path: string; created: boolean }> {
  const dir = quarantineDir(dataDir);
  const path = join(dir, entry.id);
  const meta = `${path}.json`;
  if (statSync(meta, { throwIfNoEntry: false })) return { path, created: false };
  mkdirSync(join(dir, 'tmp'), { recursive: true, mode: 0o750 });
  const tmp = join(dir, 'tmp', `${entry.id}.${randomBytes(4).toString('hex')}`);
  const source = body();
  await writeDurably(
    tmp,
    Buffer.isBuffer(source)
      ? [prefix, source]
      : (async function* () {
          yield prefix;
          yield* source;
        })(),
  );
  renameSync(tmp, path);
  const tmpMeta = `${tmp}.json`;
  await writeDurably(tmpMeta, [Buffer.from(`${JSON.stringify(entry, null, 2)}\n`)]);
  renameSync(tmpMeta, meta);
  fsyncDirSync(dir);
  return { path, created: true };
}
