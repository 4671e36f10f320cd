// One IMAP session: its state (RFC 3501 §3: not authenticated → authenticated
// → selected → logout) as a discriminated union carrying its data, the one
// choke point for every line written, and the read loop that frames commands
// with their literals (RFC 3501 §7.5, RFC 7888) before handing them to the
// dispatcher. Handlers live in commands/.
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { Logger } from '@postamt/observability';
import type { PlaintextPolicy } from './config.js';
import type { Learner } from './learn.js';
import type { MailEvent, MailEventSource } from './mail-events.js';
import type { MailboxView } from './mailbox-view.js';
import { literalAtEnd, tagOf } from './protocol/framing.js';
import { formatStatus, R, type Status } from './responses.js';
import { readClock } from './shared-folders.js';
import type { StoreProvider, UserStore } from './store.js';
import type { Transport } from './transport.js';

export interface Authenticator {
  authenticate(address: string, password: string): Promise<{ key: string } | null>;
}

export type SessionState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; user: string; store: UserStore }
  | { kind: 'selected'; user: string; store: UserStore; mailbox: MailboxView }
  | { kind: 'logout' };

export type StateKind = SessionState['kind'];

export interface SessionLimits {
  maxLine: number;
  /** Literals of commands other than APPEND. */
  maxLiteral: number;
  /** APPEND message size (RFC 7889 APPENDLIMIT). */
  maxMessage: number;
  maxAuthFailures: number;
  authFailDelayMs: number;
  idleTimeoutMs: number;
  /** IDLE: a folder with sessions in IDLE is read this often without an event (default 30 s). */
  idlePollMs?: number;
}

export interface SessionDeps {
  hostname: string;
  directory: Authenticator;
  stores: StoreProvider;
  events: MailEventSource;
  learner: Learner;
  logger: Logger;
  secureContext: SecureContext;
  allowPlaintext: PlaintextPolicy;
  limits: SessionLimits;
  onCommand?: (name: string) => void;
}

export type Dispatch = (session: Session, tag: string, command: Buffer) => Promise<void>;

const MAX_LITERALS = 1000;
/** A client that sends this many bad commands is cut off (untagged BYE). */
export const MAX_ERRORS = 50;

/** Event folder names are canonical, but INBOX may come in any case. */
function sameFolder(a: string, b: string): boolean {
  return a === b || (a.toUpperCase() === 'INBOX' && b === 'INBOX');
}

/** The bytes last sent for one untagged line, kept while the next line is the same. */
let lastLine = '';
let lastBytes = Buffer.alloc(0);

/**
 * A new message tells every IDLE session of the folder the same "* n EXISTS"
 * (one string, FolderSnap.existsLines): one Buffer for all of them (written,
 * never changed) instead of one each.
 */
function lineBytes(line: string): Buffer {
  if (line !== lastLine) {
    lastLine = line;
    lastBytes = Buffer.from(`* ${line}\r\n`, 'latin1');
  }
  return lastBytes;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export class Session {
  state: SessionState = { kind: 'not-authenticated' };
  readonly id = randomBytes(6).toString('hex');
  readonly log: Logger;
  authFailures = 0;
  errors = 0;
  /** RFC 5161 ENABLE'd extensions. */
  readonly enabled = new Set<string>();
  private closing = false;
  /** A command has started arriving and has not been answered yet. */
  private inFlight = false;
  /** Set by IDLE while it waits: the session counts as between commands. */
  idling = false;
  /** Graceful stop asked for while a command was in flight: said after it completes. */
  private drainBye: Status | null = null;
  private stopEvents: (() => void) | null = null;

  constructor(
    readonly transport: Transport,
    readonly deps: SessionDeps,
  ) {
    this.log = deps.logger.child({ session: this.id, client: transport.remoteAddress });
  }

  /** RFC 3501 §6.2.3 + RFC 2595 §2.4: plaintext credentials need TLS unless policy allows. */
  plaintextAllowed(): boolean {
    const policy = this.deps.allowPlaintext;
    if (this.transport.secure || policy === 'always') return true;
    return policy === 'loopback' && isLoopback(this.transport.remoteAddress);
  }

  capabilities(): string {
    const caps = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT'];
    if (!this.transport.secure) caps.push('STARTTLS');
    if (this.state.kind === 'not-authenticated') {
      if (this.plaintextAllowed()) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
      else caps.push('LOGINDISABLED');
    } else {
      caps.push(
        'UIDPLUS',
        'MOVE',
        'CHILDREN',
        'SPECIAL-USE',
        'CREATE-SPECIAL-USE',
        'LIST-EXTENDED',
        'LIST-STATUS',
        'ESEARCH',
        'CONDSTORE',
        'QRESYNC',
        'SORT',
        'SORT=DISPLAY',
        'THREAD=ORDEREDSUBJECT',
        'THREAD=REFERENCES',
        'QUOTA',
        'QUOTA=RES-STORAGE',
        'UTF8=ACCEPT',
        ...(this.transport.compressed ? [] : ['COMPRESS=DEFLATE']),
        `APPENDLIMIT=${this.deps.limits.maxMessage}`,
      );
    }
    return caps.join(' ');
  }

  /** Every untagged line goes through here. Strings are binary strings (one char per byte). */
  untagged(text: string | Buffer): Promise<void> {
    if (typeof text === 'string') return this.transport.write(Buffer.from(`* ${text}\r\n`, 'latin1'));
    return this.transport.write(Buffer.concat([Buffer.from('* '), text, Buffer.from('\r\n')]));
  }

  /** Many untagged lines in one write (FETCH FLAGS of a big folder); same choke point. */
  untaggedMany(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    // Long single lines (a FETCH with a body) are one session's own: not kept.
    if (lines.length === 1 && (lines[0] as string).length <= 256)
      return this.transport.write(lineBytes(lines[0] as string));
    return this.transport.write(Buffer.from(`* ${lines.join('\r\n* ')}\r\n`, 'latin1'));
  }

  /** Untagged lines already framed ("* …\r\n" each) and shared between sessions: written as they are. */
  untaggedBytes(bytes: Buffer): Promise<void> {
    return bytes.length ? this.transport.write(bytes) : Promise.resolve();
  }

  /** Every status response goes through here. */
  status(tag: string, s: Status): Promise<void> {
    if (s.kind !== 'OK' && s.kind !== 'PREAUTH')
      this.log.debug({ tag, kind: s.kind, text: s.text }, 'error reply');
    return this.transport.write(formatStatus(tag, s));
  }

  continuation(text = 'Ready'): Promise<void> {
    return this.transport.write(`+ ${text}\r\n`);
  }

  /** A client line during AUTHENTICATE or IDLE; null when the connection went away. */
  async readContinuationLine(): Promise<string | null> {
    const line = await this.transport.readLine(this.deps.limits.maxLine);
    if (line === null || line === 'overflow') return null;
    return line.toString('latin1').replace(/\r?\n$/, '');
  }

  close(): void {
    this.closing = true;
  }

  /** After login: hear this user's mail events (one shared Redis subscription per process). */
  listen(userKey: string): void {
    this.stopEvents?.();
    this.stopEvents = this.deps.events.watch(userKey, (e) => this.heard(e));
  }

  /**
   * An event says the selected folder may have changed: the next command
   * looks (a read that started after now will do); in IDLE the folder is
   * read at once, one read for all its watching sessions (shared-folders.ts).
   */
  private heard(event: MailEvent): void {
    if (this.state.kind !== 'selected') return;
    const view = this.state.mailbox;
    if (event.type !== 'folders' && !sameFolder(event.folder, view.name)) return;
    view.stale(readClock());
    if (this.idling) this.state.store.changed(view.name);
  }

  async abort(bye: Status): Promise<void> {
    this.closing = true;
    await this.status('*', bye);
    this.transport.close();
  }

  /**
   * Graceful stop (SIGTERM): a session between commands or in IDLE hears BYE
   * at once; one with a command in flight — even a literal still uploading —
   * finishes it, gets its tagged reply, then BYE (RFC 3501 §7.1.5).
   */
  async shutdown(bye: Status): Promise<void> {
    if (!this.inFlight || this.idling) return this.abort(bye);
    this.drainBye = bye;
  }

  async run(dispatch: Dispatch, preauth = false): Promise<void> {
    try {
      if (!preauth) await this.status('*', R.greeting(this.capabilities()));
      while (!this.closing && !this.transport.isClosed) {
        this.inFlight = false;
        if (this.drainBye) {
          await this.abort(this.drainBye);
          break;
        }
        const command = await this.readCommand();
        if (command === null) break;
        if (command === 'empty') continue;
        if (command === 'skip') {
          this.errors++;
          if (this.errors >= MAX_ERRORS) await this.abort(R.byeTooManyErrors);
          continue;
        }
        await dispatch(this, command.tag, command.bytes);
      }
    } catch (err) {
      this.log.error({ err }, 'session failed');
    } finally {
      this.stopEvents?.();
      this.transport.close();
    }
  }

  /** One command with its literals; 'skip' when it was refused during framing, 'empty' for a blank line. */
  private async readCommand(): Promise<{ tag: string; bytes: Buffer } | 'skip' | 'empty' | null> {
    const { limits } = this.deps;
    const first = await this.transport.readLine(limits.maxLine);
    if (first === null) return null;
    this.inFlight = true;
    if (first === 'overflow') {
      // RFC 3501 §7.1.5: BAD, untagged because the tag cannot be trusted.
      await this.status('*', R.lineTooLong);
      return 'skip';
    }
    if (first.length <= 2 && first.toString().trim() === '') return 'empty';
    const tag = tagOf(first);
    // Only a logged-in client may send a message-sized literal; before that every literal is small.
    const isAppend =
      this.state.kind !== 'not-authenticated' && / APPEND /i.test(first.toString('latin1', 0, 200));
    const parts: Buffer[] = [first];
    let last = first;
    for (let n = 0; ; n++) {
      const ann = literalAtEnd(last);
      if (ann === null) break;
      if (ann === 'invalid' || n >= MAX_LITERALS) {
        await this.status(tag, R.syntax);
        return 'skip';
      }
      const cap = isAppend ? limits.maxMessage : limits.maxLiteral;
      if (ann.size > cap) {
        // A synchronising literal was never sent: refuse and carry on. A non-synchronising
        // one is on its way and cannot be skipped safely: RFC 7888 §4 lets us close.
        if (!ann.nonSync) {
          await this.status(tag, R.literalTooBig);
          return 'skip';
        }
        await this.abort(R.byeLiteral);
        return null;
      }
      if (!ann.nonSync) await this.continuation();
      const data = await this.transport.readBytes(ann.size);
      if (data === null) return null;
      const next = await this.transport.readLine(limits.maxLine);
      if (next === null) return null;
      if (next === 'overflow') {
        await this.status(tag, R.lineTooLong);
        return 'skip';
      }
      parts.push(data, next);
      last = next;
    }
    return { tag, bytes: Buffer.concat(parts) };
  }
}
