// The quarantine on the shared volume: `quarantine/<id>` holds the message as
// it would have been delivered (filter headers + original), and
// `quarantine/<id>.json` the verdict, envelope and scan results for the admin
// service. Both are written to tmp/, fsynced and renamed; the JSON is written
// last, so its presence means the entry is whole, and a retry that finds it
// does nothing (idempotent like Maildir delivery).
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface QuarantineEntry {
  id: string;
  quarantinedAt: string;
  verdict: unknown;
  envelope: unknown;
  localRecipients: string[];
  remoteRecipients: string[];
  scan: unknown;
}

async function fsyncPath(path: string, flags = constants.O_RDONLY): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function quarantineDir(dataDir: string): string {
  return join(dataDir, 'quarantine');
}

export async function quarantine(
  dataDir: string,
  entry: QuarantineEntry,
  prefix: Buffer,
  body: () => Readable,
): Promise<{ path: string; created: boolean }> {
  const dir = quarantineDir(dataDir);
  const path = join(dir, entry.id);
  const meta = `${path}.json`;
  if (
    await stat(meta).then(
      () => true,
      () => false,
    )
  )
    return { path, created: false };
  await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o750 });
  const tmp = join(dir, 'tmp', `${entry.id}.${randomBytes(4).toString('hex')}`);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o640 });
  out.write(prefix);
  await pipeline(body(), out);
  await fsyncPath(tmp);
  await rename(tmp, path);
  const tmpMeta = `${tmp}.json`;
  await writeFile(tmpMeta, `${JSON.stringify(entry, null, 2)}\n`, { flag: 'wx', mode: 0o640 });
  await fsyncPath(tmpMeta);
  await rename(tmpMeta, meta);
  await fsyncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  return { path, created: true };
}
