// One outbound SMTP session over nodemailer's SMTPConnection, to an address
// already resolved and checked (never a name: no second DNS lookup). STARTTLS is
// used whenever offered; `verify` demands it with a certificate valid for the
// MX name (MTA-STS enforce). The connection class holds transport only: what a
// reply means is decided in replies.ts.
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { fromReply, permanent, type RcptOutcome, temporary } from './replies.js';
import { oneLine } from './wire-safety.js';

export type TlsMode = 'opportunistic' | 'verify' | 'none';

export interface SessionOptions {
  ip: string;
  port: number;
  /** MX or transport host name, for SNI and certificate checks. */
  name: string;
  heloName: string;
  tls: TlsMode;
  auth?: { user: string; pass: string };
  connectTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
}

/** The session could not be (or stay) established; `permanent` is rare (5xx to AUTH). */
export class SessionError extends Error {
  constructor(
    message: string,
    readonly outcome: RcptOutcome,
    readonly tlsFailed = false,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

interface NodemailerError extends Error {
  code?: string;
  command?: string;
  response?: string;
  responseCode?: number;
}

interface EnvelopeState {
  accepted?: string[];
  rejectedErrors?: (NodemailerError & { recipient?: string })[];
}

export interface SendRequest {
  from: string;
  to: string[];
  size: number;
  eightBit: boolean;
  body: () => Readable;
}

export class SmtpSession {
  private constructor(
    private readonly conn: SMTPConnection,
    readonly host: string,
    /** `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `none`. */
    readonly tls: string,
  ) {}

  static async open(o: SessionOptions): Promise<SmtpSession> {
    const conn = new SMTPConnection({
      host: o.ip,
      port: o.port,
      name: o.heloName,
      ...(o.name !== o.ip ? { servername: o.name } : {}),
      ignoreTLS: o.tls === 'none',
      requireTLS: o.tls === 'verify',
      opportunisticTLS: o.tls === 'opportunistic',
      tls: o.tls === 'verify' ? { rejectUnauthorized: true } : { rejectUnauthorized: false },
      connectionTimeout: o.connectTimeoutMs,
      greetingTimeout: o.greetingTimeoutMs,
      socketTimeout: o.socketTimeoutMs,
      socketCloseTimeout: 1000,
      logger: false,
    });
    const host = `${o.name}[${o.ip}]:${o.port}`;
    // connect() reports some failures only as an 'error' or 'end' event.
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: NodemailerError) => {
        if (settled) return;
        settled = true;
        conn.close();
        reject(sessionError(err, host));
      };
      conn.on('error', fail);
      conn.once('end', () => fail(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' })));
      conn.connect((err?: NodemailerError) => {
        if (err) return fail(err);
        settled = true;
        resolve();
      });
    });
    conn.removeAllListeners('end');
    const socket = conn._socket as TLSSocket | false | null;
    const tls =
      conn.secure && socket && 'getProtocol' in socket
        ? `${socket.getProtocol()} ${socket.getCipher()?.name ?? ''}`.trim()
        : 'none';
    const session = new SmtpSession(conn, host, tls);
    if (o.auth) await session.login(o.auth);
    return session;
  }

  private login(auth: { user: string; pass: string }): Promise<void> {
    // Credentials never cross an unencrypted connection.
    if (this.tls === 'none') {
      this.close();
      return Promise.reject(
        new SessionError(
          'AUTH without TLS refused',
          temporary('4.7.10', 'next hop offers no TLS for AUTH', this.host),
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.conn.login({ user: auth.user, pass: auth.pass }, (err) => {
        if (!err) return resolve();
        this.close();
        const e = err as NodemailerError;
        const outcome = e.response
          ? fromReply(e.response, this.host)
          : temporary('4.7.0', 'authentication failed', this.host);
        reject(
          new SessionError(
            'AUTH failed',
            outcome.kind === 'sent' ? temporary('4.7.0', 'authentication failed', this.host) : outcome,
          ),
        );
      });
    });
  }

  /**
   * One transaction. Returns an outcome per recipient; a recipient the server
   * accepted before the session broke is `temp` (in doubt, so sent again later).
   * `alive` says whether the session may carry another transaction.
   */
  send(req: SendRequest): Promise<{ outcomes: Map<string, RcptOutcome>; alive: boolean }> {
    return new Promise((resolve) => {
      const body = req.body();
      this.conn.send(
        { from: req.from, to: req.to, size: req.size, use8BitMime: req.eightBit },
        body,
        (err, info) => {
          const outcomes = new Map<string, RcptOutcome>();
          const state = (this.conn as unknown as { _envelope?: EnvelopeState })._envelope ?? {};
          for (const r of state.rejectedErrors ?? []) {
            if (r.recipient)
              outcomes.set(r.recipient, fromReply(r.response ?? '451 4.0.0 rejected', this.host));
          }
          if (!err && info) {
            for (const a of info.accepted)
              outcomes.set(a, { kind: 'sent', text: oneLine(info.response), host: this.host });
            fill(outcomes, req.to, temporary('4.0.0', 'no reply for recipient', this.host));
            return resolve({ outcomes, alive: true });
          }
          body.destroy();
          const e = err as NodemailerError;
          let rest: RcptOutcome;
          if (e.code === 'EMESSAGE' && !e.responseCode && /larger than allowed/.test(e.message)) {
            rest = permanent('5.3.4', 'message is larger than the receiving server accepts', this.host);
          } else if (e.responseCode && e.response && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE')) {
            // MAIL FROM, DATA or end-of-data refused: the reply applies to everyone still open.
            rest = fromReply(e.response, this.host);
          } else {
            rest = temporary('4.4.2', `connection lost: ${e.message}`, this.host);
          }
          const accepted = new Set(state.accepted ?? []);
          for (const to of req.to) {
            // Accepted at RCPT but the transaction failed later: the later reply decides.
            if (accepted.has(to) || !outcomes.has(to)) outcomes.set(to, rest);
          }
          resolve({ outcomes, alive: false });
        },
      );
    });
  }

  close(): void {
    try {
      this.conn.quit();
    } catch {
      this.conn.close();
    }
    setTimeout(() => this.conn.close(), 1000).unref();
  }
}

function fill(outcomes: Map<string, RcptOutcome>, to: string[], value: RcptOutcome): void {
  for (const t of to) if (!outcomes.has(t)) outcomes.set(t, value);
}

function sessionError(err: NodemailerError, host: string): SessionError {
  const tlsFailed = err.code === 'ETLS';
  if (err.response && err.responseCode) {
    const o = fromReply(err.response, host);
    // A 5xx greeting or EHLO is a reason to try the next MX, not to bounce
    // (Postfix smtp_skip_5xx_greeting): the destination is retried as a whole.
    const outcome =
      o.kind === 'sent' ? temporary('4.4.0', err.message, host) : { ...o, kind: 'temp' as const };
    return new SessionError(err.message, outcome, tlsFailed);
  }
  const status = err.code === 'ETIMEDOUT' ? '4.4.1' : tlsFailed ? '4.7.5' : '4.4.1';
  return new SessionError(
    err.message,
    temporary(status, `${err.code ?? 'error'}: ${err.message}`, host),
    tlsFailed,
  );
}
