// One outbound SMTP session over nodemailer's SMTPConnection, to an address
// already resolved and checked (never a name: no second DNS lookup). STARTTLS is
// used whenever offered; the stricter modes demand it:
//   verify    a certificate valid for the MX name under our CAs (MTA-STS enforce)
//   dane      a certificate matching the MX host's TLSA records (RFC 7672)
//   required  TLS without authentication (TLSA records present but none usable)
// A session outlives one transaction: it may be parked in the pool and reused
// after RSET. The connection class holds transport only: what a reply means is
// decided in replies.ts.
import type { Readable } from 'node:stream';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { type DaneResult, type Tlsa, verifyDane } from './dane.js';
import { fromReply, permanent, type RcptOutcome, temporary } from './replies.js';
import { oneLine } from './wire-safety.js';

export type TlsMode = 'opportunistic' | 'verify' | 'dane' | 'required' | 'none';

export interface SessionOptions {
  ip: string;
  port: number;
  /** MX or transport host name, for SNI and certificate checks. */
  name: string;
  heloName: string;
  tls: TlsMode;
  /** TLSA records for `dane` (usable ones only). */
  tlsa?: Tlsa[];
  /** Names a DANE-TA certificate may carry (RFC 7672 §3.2.2; default: `name`). */
  daneNames?: string[];
  /** Trusted CAs for `verify` (default: Node's bundled roots). */
  ca?: string[];
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
    /** An authentication failure (DANE, PKIX): never retried in plaintext. */
    readonly authFailed = false,
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

/** RFC 3461 parameters of one recipient, passed on when the next hop speaks DSN. */
export interface RcptDsn {
  notify?: string[];
  orcpt?: string;
}

export interface SendRequest {
  from: string;
  to: string[];
  size: number;
  eightBit: boolean;
  body: () => Readable;
  /** RFC 3461 §4.3, §4.4: MAIL FROM RET and ENVID. */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  rcptDsn?: ReadonlyMap<string, RcptDsn>;
}

/**
 * nodemailer takes NOTIFY and ORCPT once per envelope; RFC 3461 gives them per
 * recipient. The RCPT argument builder is replaced with one that looks up the
 * recipient whose RCPT TO is being written (the last one queued).
 */
class DsnConnection extends SMTPConnection {
  rcptDsn: ReadonlyMap<string, RcptDsn> = new Map();

  get speaksDsn(): boolean {
    return (this as unknown as { _supportedExtensions: string[] })._supportedExtensions.includes('DSN');
  }

  _getDsnRcptToArgs(): string {
    const queue = (this as unknown as { _recipientQueue?: string[] })._recipientQueue ?? [];
    const p = this.rcptDsn.get(queue[queue.length - 1] ?? '');
    if (!p || !this.speaksDsn) return '';
    const args: string[] = [];
    if (p.notify?.length) args.push(`NOTIFY=${p.notify.join(',')}`);
    if (p.orcpt) args.push(`ORCPT=${orcptParam(p.orcpt)}`);
    return args.length ? ` ${args.join(' ')}` : '';
  }
}

/** RFC 3461 §4.2: addr-type ";" xtext (RFC 3461 §4: "+", "=", controls and non-ASCII as +HH). */
export function orcptParam(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  const type = semi > 0 ? orcpt.slice(0, semi) : 'rfc822';
  const addr = semi > 0 ? orcpt.slice(semi + 1) : orcpt;
  const xtext = [...Buffer.from(addr)]
    .map((c) =>
      c < 0x21 || c > 0x7e || c === 0x2b || c === 0x3d
        ? `+${c.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(c),
    )
    .join('');
  return `${/^[A-Za-z0-9-]+$/.test(type) ? type : 'rfc822'};${xtext}`;
}

export class SmtpSession {
  private closed = false;
  /** What was verified about the server (set by the caller, reused with the session). */
  checks = '';

  private constructor(
    private readonly conn: DsnConnection,
    readonly host: string,
    /** `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `none`. */
    readonly tls: string,
    /** `dane-ee(3 1 1)`, `pkix`, `none`... what authenticated the certificate. */
    readonly auth: string,
  ) {
    conn.on('end', () => {
      this.closed = true;
    });
    conn.on('error', () => {
      this.closed = true;
    });
  }

  /** The server advertised DSN (RFC 3461): NOTIFY went on with the recipients. */
  get dsn(): boolean {
    return this.conn.speaksDsn;
  }

  /** Still connected and not broken by an earlier error. */
  get usable(): boolean {
    return !this.closed;
  }

  static async open(o: SessionOptions): Promise<SmtpSession> {
    const strict = o.tls === 'verify' || o.tls === 'dane' || o.tls === 'required';
    const conn = new DsnConnection({
      host: o.ip,
      port: o.port,
      name: o.heloName,
      ...(o.name !== o.ip ? { servername: o.name } : {}),
      ignoreTLS: o.tls === 'none',
      requireTLS: strict,
      opportunisticTLS: o.tls === 'opportunistic',
      // The certificate is judged below, after the handshake and before MAIL FROM:
      // against our CAs and the MX name (verify), or the TLSA records (dane).
      tls: { rejectUnauthorized: false, ...(o.ca && o.tls !== 'dane' ? { ca: o.ca } : {}) },
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
    conn.removeAllListeners('error');
    const socket = conn._socket as TLSSocket | false | null;
    const secure = conn.secure && socket && 'getProtocol' in socket ? socket : null;
    const tls = secure ? `${secure.getProtocol()} ${secure.getCipher()?.name ?? ''}`.trim() : 'none';
    // Recorded for the log and the DSN even when not required (MTA-STS testing).
    let auth = !secure
      ? 'none'
      : secure.authorized && !checkServerIdentity(o.name, secure.getPeerCertificate())
        ? 'pkix'
        : 'unverified';
    if (o.tls === 'verify' && auth !== 'pkix') {
      conn.close();
      const why = secure?.authorizationError ? String(secure.authorizationError) : `not valid for ${o.name}`;
      throw new SessionError(
        `certificate: ${why}`,
        temporary('4.7.5', `certificate of ${o.name} not trusted: ${why}`, host),
        true,
        true,
      );
    }
    if (o.tls === 'dane') {
      // RFC 7672 §3.1: nothing is sent unless the certificate matches a TLSA record.
      const v: DaneResult = secure
        ? verifyDane(secure, o.tlsa ?? [], o.daneNames ?? [o.name])
        : { ok: false, reason: 'no TLS' };
      if (!v.ok) {
        conn.close();
        throw new SessionError(
          `DANE: ${v.reason}`,
          temporary('4.7.5', `DANE authentication of ${o.name} failed: ${v.reason}`, host),
          true,
          true,
        );
      }
      auth = `dane(${v.match})`;
    }
    const session = new SmtpSession(conn, host, tls, auth);
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
      this.conn.rcptDsn = req.rcptDsn ?? new Map();
      const dsn = req.ret || req.envid ? { ret: req.ret, envid: req.envid } : undefined;
      this.conn.send(
        { from: req.from, to: req.to, size: req.size, use8BitMime: req.eightBit, ...(dsn ? { dsn } : {}) },
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
              outcomes.set(a, {
                kind: 'sent',
                text: oneLine(info.response),
                host: this.host,
                ...(this.dsn ? { dsn: true } : {}),
              });
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

  /** RSET (RFC 5321 §4.1.1.5) before a reused session's next transaction; fails if it is dead. */
  reset(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('session closed'));
    return new Promise((resolve, reject) => {
      this.conn.reset((err) => {
        if (err) {
          this.close();
          reject(err);
        } else resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
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
  if (tlsFailed) {
    // No STARTTLS, a refused STARTTLS or a failed handshake: RFC 3463 §3.8 X.7.5
    // (cryptographic failure) whatever the server replied.
    const reply = err.response ? ` (${oneLine(err.response)})` : '';
    return new SessionError(
      err.message,
      temporary('4.7.5', `TLS failed: ${err.message}${reply}`, host),
      true,
    );
  }
  if (err.response && err.responseCode) {
    const o = fromReply(err.response, host);
    // A 5xx greeting or EHLO is a reason to try the next MX, not to bounce
    // (Postfix smtp_skip_5xx_greeting): the destination is retried as a whole.
    const outcome =
      o.kind === 'sent' ? temporary('4.4.0', err.message, host) : { ...o, kind: 'temp' as const };
    return new SessionError(err.message, outcome);
  }
  return new SessionError(err.message, temporary('4.4.1', `${err.code ?? 'error'}: ${err.message}`, host));
}
