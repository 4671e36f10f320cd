// SASL for SMTP AUTH (RFC 4954): the PLAIN (RFC 4616) and LOGIN mechanisms,
// as pure decoders plus one exchange that drives the 334 challenges through
// an AuthRequest. Nothing here knows about accounts: the result is the
// credentials the client presented, or why there are none, and the caller
// (the application's onAuth hook) checks them.

import type { AuthRequest } from './hooks.js';

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslCredentials {
  /** The authentication identity (RFC 4616 authcid): the login name. */
  user: string;
  password: string;
}

export type SaslResult =
  | { kind: 'credentials'; credentials: SaslCredentials }
  /** The client sent `*` (RFC 4954 §4) or went away. */
  | { kind: 'cancelled' }
  /** Not base64, not the mechanism's syntax, or an authorization identity we do not serve. */
  | { kind: 'malformed'; reason: string }
  | { kind: 'unsupported' };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_FIELD = 255;

/**
 * RFC 4954 §4: base64 of the response; `=` alone is an empty response. Null
 * when the text is not strict base64 (no whitespace, padding required).
 */
export function decodeSaslResponse(text: string): Buffer | null {
  if (text === '=') return Buffer.alloc(0);
  if (!BASE64.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** Strict UTF-8 (RFC 4616 §2: UTF8SAFE), no NUL. */
function utf8Field(b: Buffer): string | null {
  if (b.length > MAX_FIELD * 4) return null;
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(b);
    return s.includes('\0') ? null : s;
  } catch {
    return null;
  }
}

/**
 * RFC 4616 §2: `[authzid] NUL authcid NUL passwd`. An authorization identity
 * other than the authentication identity (acting as another user) is not
 * served here, so it is malformed for us.
 */
export function parsePlain(message: Buffer): SaslResult {
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  if (first < 0 || second < 0 || message.indexOf(0, second + 1) >= 0)
    return { kind: 'malformed', reason: 'PLAIN message needs exactly two NULs' };
  const authzid = utf8Field(message.subarray(0, first));
  const user = utf8Field(message.subarray(first + 1, second));
  const password = utf8Field(message.subarray(second + 1));
  if (authzid === null || user === null || password === null)
    return { kind: 'malformed', reason: 'PLAIN field not UTF-8' };
  if (!user || !password) return { kind: 'malformed', reason: 'empty PLAIN user or password' };
  if (authzid && authzid.toLowerCase() !== user.toLowerCase())
    return { kind: 'malformed', reason: 'authorization identity differs from the user' };
  return { kind: 'credentials', credentials: { user, password } };
}

/** The LOGIN challenges, base64 of `Username:` and `Password:` (draft-murchison-sasl-login). */
const USERNAME = Buffer.from('Username:').toString('base64');
const PASSWORD = Buffer.from('Password:').toString('base64');

/** Asks one 334 question; the decoded answer, or the reason there is none. */
async function ask(req: AuthRequest, challenge: string): Promise<Buffer | SaslResult> {
  const line = await req.challenge(challenge);
  if (line === null) return { kind: 'cancelled' };
  return decodeSaslResponse(line) ?? { kind: 'malformed', reason: 'response is not base64' };
}

function first(req: AuthRequest): Buffer | SaslResult | undefined {
  if (req.initial === undefined) return undefined;
  return decodeSaslResponse(req.initial) ?? { kind: 'malformed', reason: 'initial response is not base64' };
}

/** Runs the mechanism's exchange (initial response, 334 challenges) to the client's credentials. */
export async function saslExchange(req: AuthRequest): Promise<SaslResult> {
  const mechanism = req.mechanism.toUpperCase();
  if (mechanism === 'PLAIN') {
    // RFC 4954 §4: no initial response → an empty 334 challenge.
    const msg = first(req) ?? (await ask(req, ''));
    return Buffer.isBuffer(msg) ? parsePlain(msg) : msg;
  }
  if (mechanism === 'LOGIN') {
    // Some clients send the user name as an initial response.
    const u = first(req) ?? (await ask(req, USERNAME));
    if (!Buffer.isBuffer(u)) return u;
    const p = await ask(req, PASSWORD);
    if (!Buffer.isBuffer(p)) return p;
    const user = utf8Field(u);
    const password = utf8Field(p);
    if (user === null || password === null) return { kind: 'malformed', reason: 'LOGIN field not UTF-8' };
    if (!user || !password) return { kind: 'malformed', reason: 'empty LOGIN user or password' };
    return { kind: 'credentials', credentials: { user, password } };
  }
  return { kind: 'unsupported' };
}
