// One POP3 session: its state (RFC 1939 §3: AUTHORIZATION → TRANSACTION →
// UPDATE) as a discriminated union carrying its data, the reply choke point,
// and the read–dispatch loop. Handlers live in commands/.
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { Logger } from '@postamt/observability';
import type { PlaintextPolicy } from './config.js';
import type { MaildropLock } from './lock.js';
import type { Maildrop, SizeCache } from './maildrop.js';
import type { Pop3Metrics } from './metrics.js';
import { formatLines, formatReply, R, type Reply } from './responses.js';
import type { Transport } from './transport.js';

/** The account lookup the session needs; @postamt/directory's Directory fits. */
export interface Authenticator {
  authenticate(address: string, password: string): Promise<{ key: string } | null>;
}

export type SessionState =
  | { kind: 'authorization'; pendingUser: string | null }
  | { kind: 'transaction'; userKey: string; maildrop: Maildrop; lock: MaildropLock }
  | { kind: 'update' };

export type StateKind = SessionState['kind'];

export interface SessionLimits {
  maxLine: number;
  maxAuthFailures: number;
  authFailDelayMs: number;
  lockStaleMs: number;
}

export interface SessionDeps {
  hostname: string;
  dataDir: string;
  directory: Authenticator;
  logger: Logger;
  secureContext: SecureContext;
  sizes: SizeCache;
  metrics: Pop3Metrics;
  allowPlaintext: PlaintextPolicy;
  limits: SessionLimits;
}

/** Handles one line; implemented by commands/index.ts (kept apart so handlers can import Session). */
export type Dispatch = (session: Session, line: Buffer) => Promise<void>;

function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export class Session {
  state: SessionState = { kind: 'authorization', pendingUser: null };
  authFailures = 0;
  errors = 0;
  readonly id = randomBytes(6).toString('hex');
  readonly log: Logger;
  private closing = false;

  constructor(
    readonly transport: Transport,
    readonly deps: SessionDeps,
  ) {
    this.log = deps.logger.child({ session: this.id, client: transport.remoteAddress });
  }

  /** Every status line goes through here. */
  reply(reply: Reply, flush = false): Promise<void> {
    if (!reply.ok) this.log.debug({ code: reply.code, text: reply.text }, 'error reply');
    return this.transport.write(formatReply(reply), flush);
  }

  /** A status line followed by a multi-line body (RFC 1939 §3). */
  replyLines(reply: Reply, lines: readonly string[]): Promise<void> {
    return this.transport.write(formatReply(reply) + formatLines(lines));
  }

  /** RFC 2595 §2.4: plaintext credentials only over TLS, unless policy says otherwise. */
  plaintextAllowed(): boolean {
    const policy = this.deps.allowPlaintext;
    if (this.transport.secure || policy === 'always') return true;
    return policy === 'loopback' && isLoopback(this.transport.remoteAddress);
  }

  /** Ends the session after the current command. */
  close(): void {
    this.closing = true;
  }

  /** Ends at once: idle timeout, lost lock, shutdown. Nothing is committed. */
  async abort(reply: Reply): Promise<void> {
    this.closing = true;
    await this.reply(reply);
    this.transport.close();
  }

  async run(dispatch: Dispatch): Promise<void> {
    try {
      await this.reply(R.greeting(this.deps.hostname));
      while (!this.closing) {
        const line = await this.transport.nextLine();
        if (line === null) break;
        if (line === 'overflow') {
          await this.reply(R.lineTooLong);
          break;
        }
        // Replies are gathered while more pipelined commands wait, and sent
        // together once the client has nothing more queued (nextLine releases).
        this.transport.hold();
        await dispatch(this, line);
      }
    } catch (err) {
      this.log.error({ err }, 'session failed');
    } finally {
      await this.end();
    }
  }

  /** A session that leaves without QUIT releases its lock and commits nothing (RFC 1939 §6). */
  private async end(): Promise<void> {
    const state = this.state;
    if (state.kind === 'transaction') {
      this.log.info({ user: state.userKey }, 'session ended without QUIT, nothing committed');
      await state.lock.release().catch((err: unknown) => this.log.warn({ err }, 'lock release failed'));
    }
    this.transport.close();
  }
}
