// The spool: accepted messages on the shared volume, waiting for the filter and
// relay. One file per message holds the envelope and the raw bytes:
//
//   spool/<id>.msg   "POSTAMT-SPOOL/1 <n>[ <m> <crc>]\n" + <n bytes of envelope JSON> + "\n"
//                    + <m bytes of message>   (<m> and <crc>: a message written whole)
//   spool/tmp/       files being written; never read by anyone else
//
// A message is committed in one of two ways; a crash leaves either nothing usable
// or a whole message:
// - whole in hand (the usual case) on a local disk (SpoolOptions.commitInPlace):
//   the final file is created and written once with O_DSYNC, its head carrying
//   the message length and a CRC-32 of envelope and message. When the write
//   returns, the file and its name are on disk (syncing a new file commits its
//   directory entry on ext4, XFS and btrfs, as Postfix's queue relies on): one
//   flush. A torn file fails `isComplete`; it never got a job, and the start-up
//   sweep removes it.
// - otherwise (streamed, or on a network filesystem): written in tmp/, synced,
//   renamed into the spool and the spool directory fsynced: the rename is the
//   commit point.
import {
  close as closeCb,
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  fsync,
  open as openCb,
  openSync,
  readSync,
  renameSync,
  write,
} from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { type Envelope, envelopeSchema } from './envelope.js';
import { isSpoolId, newSpoolId } from './ids.js';

const MAGIC = 'POSTAMT-SPOOL/1';
const MAX_HEADER = 1024 * 1024;

export class SpoolError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'corrupt' | 'io',
  ) {
    super(message);
    this.name = 'SpoolError';
  }
}

/** fsync a directory so a rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncDir with the open and close on the spot (SpoolOptions.inlineMetadata). */
async function fsyncDirInline(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** A spool file opened for reading its head, on the spot or through the pool. */
interface HeadReader {
  size(): number | Promise<number>;
  readAt(buf: Buffer, position: number): unknown;
  close(): void | Promise<void>;
}

function openInline(path: string): HeadReader {
  const fd = openSync(path, 'r');
  return {
    size: () => fstatSync(fd).size,
    readAt: (buf, position) => readSync(fd, buf, 0, buf.length, position),
    close: () => closeSync(fd),
  };
}

async function openPooled(path: string): Promise<HeadReader> {
  const fh = await open(path, 'r');
  return {
    size: async () => (await fh.stat()).size,
    readAt: (buf, position) => fh.read(buf, 0, buf.length, position),
    close: () => fh.close(),
  };
}

/**
 * Group commit of the spool directory: concurrent commits share its fsyncs. A
 * caller whose rename came while an fsync was already running waits for the
 * next one, which starts after that one ends and so covers its rename. The
 * directory stays open between fsyncs (reopened after an error).
 */
class DirSync {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private handle: Promise<FileHandle> | null = null;

  constructor(private readonly dir: string) {}

  private async fsync(): Promise<void> {
    this.handle ??= open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    const h = this.handle;
    try {
      await (await h).sync();
    } catch (err) {
      if (this.handle === h) this.handle = null;
      await h.then((fh) => fh.close()).catch(() => {});
      throw err;
    }
  }

  sync(): Promise<void> {
    if (!this.running) return this.start();
    const after = () => {
      this.next = null;
      return this.start();
    };
    this.next ??= this.running.then(after, after);
    return this.next;
  }

  /** Closes the directory once the fsyncs asked for so far are done. */
  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    const h = this.handle;
    this.handle = null;
    await h?.then((fh) => fh.close()).catch(() => {});
  }

  private start(): Promise<void> {
    const p = this.fsync();
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}

/** Writes all of `data` at the file's current offset (a short write is continued). */
function writeAll(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (off: number) =>
      write(fd, data, off, data.length - off, null, (err, n) => {
        if (err) reject(err);
        else if (off + n < data.length) next(off + n);
        else resolve();
      });
    if (data.length === 0) resolve();
    else next(0);
  });
}

function openFd(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) =>
    openCb(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => closeCb(fd, (err) => (err ? reject(err) : resolve())));
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export interface SpoolWriter {
  readonly id: string;
  /** Appends message bytes. */
  write(chunk: Buffer): Promise<void>;
  /** Bytes of message written so far. */
  readonly size: number;
  /**
   * Writes `last` (the final bytes, if any), syncs the file, renames it into the spool and
   * fsyncs the directory. After this the message is durable.
   */
  commit(last?: Buffer): Promise<void>;
  /** Removes the partial file. Safe to call more than once, and after a failed commit. */
  abort(): Promise<void>;
}

export interface SpoolEntry {
  envelope: Envelope;
  /** Byte offset where the message starts. */
  offset: number;
  /** Size of the message in bytes. */
  size: number;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** CRC-32 of a spool file's envelope JSON and message, as in its head. */
function spoolCrc(json: Buffer, message: Buffer): string {
  return crc32(message, crc32(json)).toString(16);
}

/** A spool file's head line, or null when it is not one of ours (or out of bounds). */
function parseHead(line: Buffer): { jsonLength: number; messageLength?: number; crc?: string } | null {
  const [magic, lenText, sizeText, crc] = line.toString('latin1').split(' ');
  const jsonLength = Number(lenText);
  if (magic !== MAGIC || !Number.isInteger(jsonLength) || jsonLength <= 0 || jsonLength > MAX_HEADER)
    return null;
  return sizeText === undefined ? { jsonLength } : { jsonLength, messageLength: Number(sizeText), crc };
}

/** A spool file's head: magic and JSON length, with the message's length and CRC when known. */
function spoolHead(json: Buffer, message?: Buffer): Buffer {
  const sealed = message ? ` ${message.length} ${spoolCrc(json, message)}` : '';
  return Buffer.concat([Buffer.from(`${MAGIC} ${json.length}${sealed}\n`), json, Buffer.from('\n')]);
}

export interface SpoolOptions {
  /**
   * Make a writer's close and rename calls on the spot instead of in libuv's thread
   * pool; creating the file always goes to the pool. On a local disk these take
   * microseconds, and each trip through the pool costs thread wake-ups that showed as
   * a large share of the intake's CPU under load; on a network filesystem each is a
   * round trip that would stall the whole event loop, so the default is the pool.
   * Writes and fsyncs always go to the pool. Also reading a file's head (read,
   * openMessage); unlinking always goes to the pool (it waits on the journal).
   */
  inlineMetadata?: boolean;
  /**
   * Commit a message that is whole in hand by one synced write of its final file
   * instead of tmp/, rename and a directory fsync. Safe where syncing a new file makes
   * its name durable too: ext4 (with or without a journal), XFS and btrfs, as Postfix's
   * queue assumes. Off (the default) for network filesystems.
   */
  commitInPlace?: boolean;
}

export class Spool {
  readonly dir: string;
  readonly tmpDir: string;
  private readonly tag = `${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${process.pid}`;
  private readonly dirSync: DirSync;
  private readonly inlineMetadata: boolean;
  private readonly commitInPlace: boolean;

  constructor(dataDir: string, options: SpoolOptions = {}) {
    this.dir = join(dataDir, 'spool');
    this.tmpDir = join(this.dir, 'tmp');
    this.dirSync = new DirSync(this.dir);
    this.inlineMetadata = options.inlineMetadata ?? false;
    this.commitInPlace = options.commitInPlace ?? false;
  }

  /** Lets go of the spool directory kept open for its fsyncs (a later commit opens it again). */
  close(): Promise<void> {
    return this.dirSync.close();
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
  }

  pathOf(id: string): string {
    if (!isSpoolId(id)) throw new SpoolError('bad spool id', 'not-found');
    return join(this.dir, `${id}.msg`);
  }

  /**
   * Starts a new spool file for this envelope (its id is assigned here). Nothing is
   * created until bytes must go to disk: a message that arrives whole is committed in
   * one synced write of its final file (see commit), a large one is streamed into tmp/.
   */
  async create(envelope: Omit<Envelope, 'id'>, id = newSpoolId()): Promise<SpoolWriter> {
    const full = envelopeSchema.parse({ ...envelope, id });
    const tmpPath = join(this.tmpDir, `${id}.${this.tag}`);
    const finalPath = this.pathOf(id);
    const inline = this.inlineMetadata;
    const inPlace = this.commitInPlace;
    const json = Buffer.from(JSON.stringify(full));
    let headerWritten = false;
    let size = 0;
    let fd: number | null = null;
    let createdPath: string | null = null;
    const dirSync = this.dirSync;
    // Creating a file always goes to the pool: it joins the filesystem's journal, and
    // while other writers' fsyncs commit it, that waits (most of a millisecond per
    // message under load, which on the spot stalled every session).
    const createFile = async (path: string, flags: number) => {
      createdPath = path;
      fd = await openFd(path, CREATE | flags, 0o640);
      return fd;
    };
    const close = async () => {
      if (fd === null) return;
      const f = fd;
      fd = null;
      if (inline) closeSync(f);
      else await closeFd(f);
    };
    return {
      id,
      get size() {
        return size;
      },
      async write(chunk: Buffer) {
        const out = fd ?? (await createFile(tmpPath, 0));
        // The head goes with the first message bytes: one write instead of two.
        const data = headerWritten ? chunk : Buffer.concat([spoolHead(json), chunk]);
        headerWritten = true;
        await writeAll(out, data);
        size += chunk.length;
      },
      async commit(last?: Buffer) {
        if (!headerWritten) {
          // The whole message is in hand (a typical one): created with O_DSYNC and written
          // once, its head sealed with the message's length and CRC; the write returns
          // once bytes and size are on disk. In place, the file being new, its name is
          // too: one flush, and a crash mid-write leaves a file that fails isComplete and
          // has no job (the start-up sweep removes it). Otherwise the rename below commits.
          const message = last ?? Buffer.alloc(0);
          size = message.length;
          headerWritten = true;
          const out = await createFile(inPlace ? finalPath : tmpPath, constants.O_DSYNC);
          await writeAll(out, Buffer.concat([spoolHead(json, message), message]));
          if (inPlace) {
            await close();
            return;
          }
        } else {
          if (fd === null) throw new SpoolError(`spool file ${id} is not open`, 'io');
          if (last?.length) {
            await writeAll(fd, last);
            size += last.length;
          }
          await fsyncFd(fd);
        }
        await close();
        if (inline) renameSync(tmpPath, finalPath);
        else await rename(tmpPath, finalPath);
        // Should the directory fsync fail, abort removes the file under its new name.
        createdPath = finalPath;
        await dirSync.sync();
      },
      async abort() {
        await close().catch(() => {});
        if (createdPath) await unlink(createdPath).catch(() => {});
      },
    };
  }

  /** Writes a whole message from a stream (tests, bounces, internal mail). */
  async put(envelope: Omit<Envelope, 'id'>, body: Readable | Buffer): Promise<string> {
    const w = await this.create(envelope);
    try {
      if (Buffer.isBuffer(body)) await w.commit(body);
      else {
        for await (const chunk of body) await w.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        await w.commit();
      }
      return w.id;
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /** Reads the envelope and locates the message bytes. */
  async read(id: string): Promise<SpoolEntry> {
    const path = this.pathOf(id);
    let fh: HeadReader;
    try {
      fh = this.inlineMetadata ? openInline(path) : await openPooled(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SpoolError(`spool file ${id} not found`, 'not-found');
      throw err;
    }
    try {
      const fileSize = await fh.size();
      const probe = Buffer.alloc(Math.min(64, fileSize));
      await fh.readAt(probe, 0);
      const nl = probe.indexOf(10);
      const head = parseHead(probe.subarray(0, Math.max(nl, 0)));
      if (!head) throw new SpoolError(`spool file ${id} has no valid header`, 'corrupt');
      const len = head.jsonLength;
      const json = Buffer.alloc(len);
      await fh.readAt(json, nl + 1);
      const envelope = envelopeSchema.parse(JSON.parse(json.toString('utf8')));
      const offset = nl + 1 + len + 1;
      return { envelope, offset, size: fileSize - offset };
    } catch (err) {
      if (err instanceof SpoolError) throw err;
      throw new SpoolError(`spool file ${id} is corrupt: ${(err as Error).message}`, 'corrupt');
    } finally {
      await fh.close();
    }
  }

  /**
   * Whether a spool file is whole: a sealed one (written whole) must have the length
   * and CRC its head declares (a crash mid-write leaves it short or torn); one streamed
   * and renamed into the spool is whole by construction. Missing or unreadable: false.
   */
  async isComplete(id: string): Promise<boolean> {
    let file: Buffer;
    try {
      file = await readFile(this.pathOf(id));
    } catch {
      return false;
    }
    const nl = file.indexOf(10);
    const head = parseHead(file.subarray(0, Math.max(nl, 0)));
    if (!head) return false;
    if (head.messageLength === undefined) return true;
    const json = file.subarray(nl + 1, nl + 1 + head.jsonLength);
    const message = file.subarray(nl + 1 + head.jsonLength + 1);
    return (
      json.length === head.jsonLength &&
      message.length === head.messageLength &&
      spoolCrc(json, message) === head.crc
    );
  }

  /** Streams the message bytes of a spooled message. */
  async openMessage(id: string): Promise<{ envelope: Envelope; size: number; stream: () => Readable }> {
    const entry = await this.read(id);
    const path = this.pathOf(id);
    return {
      envelope: entry.envelope,
      size: entry.size,
      stream: () => createReadStream(path, { start: entry.offset, highWaterMark: 64 * 1024 }),
    };
  }

  async exists(id: string): Promise<boolean> {
    try {
      await stat(this.pathOf(id));
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes a spooled message once every recipient is taken care of. Idempotent. */
  async remove(id: string): Promise<void> {
    try {
      // Always in the pool: unlinking waits on the journal like creating does (≈4.6 ms per
      // message in the filter's profile when done on the spot, stalling its other jobs).
      await unlink(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return;
    }
    await (this.inlineMetadata ? fsyncDirInline(this.dir) : fsyncDir(this.dir));
  }

  /** Committed message ids, oldest first. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names
      .filter((n) => n.endsWith('.msg'))
      .map((n) => n.slice(0, -4))
      .filter(isSpoolId)
      .sort();
  }

  /**
   * Removes partial files left by crashed writers: those of this host whose
   * process is gone, and anyone's older than `maxAgeMs` (a DATA transfer never
   * takes that long).
   */
  async removeStaleTmp(maxAgeMs = 24 * 3600_000): Promise<string[]> {
    const removed: string[] = [];
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    for (const name of await readdir(this.tmpDir)) {
      const [, fileHost, pidText] = name.split('.');
      const path = join(this.tmpDir, name);
      let stale = false;
      if (fileHost === host && pidText && Number(pidText) !== process.pid)
        stale = !processAlive(Number(pidText));
      if (!stale) {
        const st = await stat(path).catch(() => null);
        stale = st !== null && Date.now() - st.mtimeMs > maxAgeMs;
      }
      if (stale) {
        await unlink(path).catch(() => {});
        removed.push(name);
      }
    }
    return removed;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
