// Session state, read like RFC 5321 §4.1.4 and §3.3: a client is greeted, says
// HELO/EHLO, opens a mail transaction with MAIL, adds recipients with RCPT,
// and sends DATA. Each state carries exactly the data it has, so a handler
// cannot reach an envelope that does not exist. STARTTLS (RFC 3207 §4.2),
// RSET and a new HELO/EHLO drop back to an earlier state.

import type { MailParams, RcptParams } from './params.js';
import type { SmtpReply } from './replies.js';

export interface Helo {
  verb: 'HELO' | 'EHLO';
  name: string;
}

export interface MailFrom {
  /** The empty string for the null reverse-path `<>`. */
  address: string;
  params: MailParams;
}

export interface RcptTo {
  address: string;
  params: RcptParams;
}

export interface Transaction {
  mailFrom: MailFrom;
  rcptTo: RcptTo[];
}

export type State =
  /** The connect hook refused the client (554); only QUIT is served (RFC 5321 §3.1). */
  | { kind: 'refused'; reply: SmtpReply }
  | { kind: 'greeted' }
  | { kind: 'ready'; helo: Helo }
  /** MAIL accepted, no recipient yet. */
  | { kind: 'mail'; helo: Helo; tx: Transaction }
  /** At least one recipient accepted: DATA may follow. */
  | { kind: 'rcpt'; helo: Helo; tx: Transaction };

export type StateKind = State['kind'];

export const ALL_STATES: readonly StateKind[] = ['refused', 'greeted', 'ready', 'mail', 'rcpt'];

export interface TlsInfo {
  /** e.g. `TLSv1.3`. */
  protocol: string;
  /** e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: string;
}

/** What hooks see of a session: read-only, derived from the state. */
export interface Session {
  readonly id: string;
  /** The client's address: the PROXY header's source when one was received. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly proxied: boolean;
  readonly helo: Helo | undefined;
  readonly tls: TlsInfo | undefined;
  readonly user: string | undefined;
  readonly mailFrom: MailFrom | undefined;
  readonly rcptTo: readonly RcptTo[];
  /** RFC 3848 protocol name for the Received header. */
  readonly transmissionType: string;
}

export function heloOf(s: State): Helo | undefined {
  return s.kind === 'ready' || s.kind === 'mail' || s.kind === 'rcpt' ? s.helo : undefined;
}

export function txOf(s: State): Transaction | undefined {
  return s.kind === 'mail' || s.kind === 'rcpt' ? s.tx : undefined;
}

/** RFC 3848: SMTP for HELO; ESMTP, plus S with TLS and A with AUTH. */
export function transmissionType(helo: Helo | undefined, tls: boolean, auth: boolean): string {
  if (helo?.verb !== 'EHLO') return 'SMTP';
  return `ESMTP${tls ? 'S' : ''}${auth ? 'A' : ''}`;
}
