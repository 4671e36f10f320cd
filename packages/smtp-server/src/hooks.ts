// What the application plugs into the SMTP layer. Every hook may answer a
// reply; null means "fine, go on". A hook that throws or misses its deadline
// is answered 451 4.3.0 (a dependency that fails is a temporary failure), and
// a 421 from any hook closes the connection.

import { Readable } from 'node:stream';
import type { SmtpReply } from './replies.js';
import type { Helo, MailFrom, RcptTo, Session } from './session.js';

export type HookReply = SmtpReply | null | undefined;

export interface AuthRequest {
  mechanism: string;
  initial?: string;
  /** Sends a 334 challenge (base64 text) and resolves with the client's line, or null if it cancelled (`*`). */
  challenge(text: string): Promise<string | null>;
}

export type AuthResult = { ok: true; user: string } | { ok: false; reply: SmtpReply };

export interface SmtpHooks {
  /** Before the greeting; a reply replaces it (554 → only QUIT is served, 421 → closed). */
  onConnect?(session: Session): Promise<HookReply> | HookReply;
  onHelo?(session: Session, helo: Helo): Promise<HookReply> | HookReply;
  onMailFrom?(session: Session, from: MailFrom): Promise<HookReply> | HookReply;
  onRcptTo?(session: Session, rcpt: RcptTo): Promise<HookReply> | HookReply;
  /**
   * The message, as it arrives. The hook should consume the stream; whatever
   * it leaves is drained by the server, and the reply is sent only once the
   * whole DATA has been read. `stream.sizeExceeded` is set once the message
   * passed the size limit (the rest is not passed on).
   */
  onData(session: Session, stream: DataStream): Promise<SmtpReply>;
  /** SASL (RFC 4954); AUTH is offered only when this is set and TLS is active. */
  onAuth?(session: Session, request: AuthRequest): Promise<AuthResult>;
  onClose?(session: Session): void;
}

/** The DATA stream handed to onData: the unstuffed message bytes. */
export class DataStream extends Readable {
  /** The message passed the size limit; the rest of it was read and dropped. */
  sizeExceeded = false;
  /** Octets of message seen, including any past the limit. */
  size = 0;

  constructor(private readonly onRead: () => void) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.onRead();
  }
}
