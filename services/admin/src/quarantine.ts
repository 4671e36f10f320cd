// The quarantine as the filter writes it (services/filter/src/quarantine.ts):
//   quarantine/<id>        the message as it would have been delivered
//   quarantine/<id>.json   verdict, envelope, recipients, scan results (written last)
// An entry exists once its JSON does. Release delivers the stored message
// itself — it is not scanned again, an operator decided — into the local
// recipients' INBOX (idempotent delivery keys) and hands remote recipients to
// the relay through a new spool file; then the entry is removed.
import { createHash } from 'node:crypto';
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Directory } from '@postamt/directory';
import { deliver, folderDir, releaseClaims, userMaildir } from '@postamt/maildir';
import { summarizeMessage } from '@postamt/mime';
import { envelopeSchema, isSpoolId, type Queues, type Spool, spoolIdTime } from '@postamt/queue';

export interface QuarantineMeta {
  id: string;
  quarantinedAt: string;
  verdict: { kind?: string; [k: string]: unknown };
  envelope: { mailFrom?: string; [k: string]: unknown };
  localRecipients: string[];
  remoteRecipients: string[];
  scan?: unknown;
}

export interface QuarantineSummary {
  id: string;
  quarantinedAt: string;
  verdict: string;
  reason: string | null;
  from: string;
  recipients: string[];
  subject: string | null;
  size: number;
}

const MAX_HEADER = 256 * 1024;

export class QuarantineStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'quarantine');
  }

  private path(id: string): string {
    if (!isSpoolId(id)) throw new Error('bad quarantine id');
    return join(this.dir, id);
  }

  async ids(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter(isSpoolId)
      .sort();
  }

  async meta(id: string): Promise<QuarantineMeta | null> {
    try {
      return JSON.parse(await readFile(`${this.path(id)}.json`, 'utf8')) as QuarantineMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** The header section of the stored message (up to the first empty line). */
  async headers(id: string): Promise<{ text: string; size: number } | null> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(this.path(id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.min(size, MAX_HEADER));
      await fh.read(buf, 0, buf.length, 0);
      const text = buf.toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      return { text: (end >= 0 ? text.slice(0, end) : text).replace(/\r\n/g, '\n'), size };
    } finally {
      await fh.close();
    }
  }

  async summary(id: string): Promise<QuarantineSummary | null> {
    const meta = await this.meta(id);
    if (!meta) return null;
    const head = await this.headers(id);
    const subject = head
      ? /^subject:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(head.text)?.[1]?.replace(/\n[ \t]+/g, ' ')
      : null;
    const v = meta.verdict ?? {};
    const reason =
      typeof v.signature === 'string' ? v.signature : typeof v.reason === 'string' ? v.reason : null;
    return {
      id,
      quarantinedAt: meta.quarantinedAt,
      verdict: typeof v.kind === 'string' ? v.kind : 'unknown',
      reason,
      from: meta.envelope?.mailFrom ?? '',
      recipients: [...(meta.localRecipients ?? []), ...(meta.remoteRecipients ?? [])],
      subject: subject ?? null,
      size: head?.size ?? 0,
    };
  }

  async remove(id: string): Promise<boolean> {
    // The JSON first: without it the entry no longer exists for anyone.
    const had = await unlink(`${this.path(id)}.json`).then(
      () => true,
      () => false,
    );
    await unlink(this.path(id)).catch(() => {});
    return had;
  }

  async release(
    id: string,
    deps: { directory: Directory; spool: Spool; queues: Queues; dataDir: string; hostname: string },
  ): Promise<{ delivered: string[]; relayed: string[]; skipped: string[] } | null> {
    const meta = await this.meta(id);
    if (!meta) return null;
    const path = this.path(id);
    const message = await readFile(path);
    const out = { delivered: [] as string[], relayed: [] as string[], skipped: [] as string[] };
    // Kept until the entry is gone: a release retried after a failure delivers no copy twice.
    const claims: string[] = [];
    for (const address of meta.localRecipients ?? []) {
      const user = await deps.directory.getUser(address);
      if (!user) {
        out.skipped.push(address);
        continue;
      }
      const hash = createHash('sha256').update(user.key).digest('hex').slice(0, 16);
      const delivered = await deliver({
        dir: folderDir(userMaildir(deps.dataDir, user.key), 'INBOX'),
        deliveryKey: `${id}_released_${hash}`,
        time: Math.floor(spoolIdTime(id) / 1000),
        host: deps.hostname,
        source: message,
        // Parsed once, here, like every delivery (IMAP then reads no file for ENVELOPE/BODYSTRUCTURE).
        indexer: summarizeMessage,
      });
      claims.push(delivered.claim);
      out.delivered.push(user.address);
    }
    const remote = meta.remoteRecipients ?? [];
    if (remote.length > 0) {
      const original = envelopeSchema.parse(meta.envelope);
      const { id: _old, ...rest } = original;
      const spoolId = await deps.spool.put(
        { ...rest, rcptTo: remote.map((address) => ({ address })), receivedAt: new Date().toISOString() },
        message,
      );
      await deps.queues.add('relay', spoolId, { spoolId, recipients: remote });
      out.relayed.push(...remote);
    }
    await this.remove(id);
    releaseClaims(claims);
    return out;
  }
}
