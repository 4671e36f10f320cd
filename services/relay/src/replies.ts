// One model for what happened to a recipient, and the mapping from SMTP
// replies to it: 2xx sent, 4xx temporary (retry), 5xx permanent (bounce at
// once). Enhanced status codes come from the reply (RFC 3463, RFC 2034) or are
// derived from its class.
import { oneLine } from './wire-safety.js';

/**
 * `host` is the server that answered; `checks` what was verified about it (for
 * logs and DSNs); `dsn` that the server took the recipient's NOTIFY (RFC 3461).
 */
export type RcptOutcome =
  | { kind: 'sent'; text: string; host?: string; checks?: string; dsn?: boolean }
  | { kind: 'temp'; status: string; text: string; smtp?: string; host?: string; checks?: string }
  | { kind: 'perm'; status: string; text: string; smtp?: string; host?: string; checks?: string };

const ENHANCED = /^[245]\d{2}[ -]([245]\.\d{1,3}\.\d{1,3})\b/;

/** The outcome an SMTP reply (`550 5.1.1 no such user`) means for the recipients it answers. */
export function fromReply(reply: string, host?: string): RcptOutcome {
  const line = oneLine(reply);
  const code = Number(line.slice(0, 3));
  if (code >= 200 && code < 300) return { kind: 'sent', text: line, ...(host ? { host } : {}) };
  const status = ENHANCED.exec(line)?.[1] ?? (code >= 500 && code < 600 ? '5.0.0' : '4.0.0');
  const base = { status, text: line, smtp: line, ...(host ? { host } : {}) };
  // Anything that is not a clean 5xx is worth another try (unparsable replies included).
  return code >= 500 && code < 600 && status.startsWith('5')
    ? { kind: 'perm', ...base }
    : { kind: 'temp', ...base };
}

export function temporary(status: string, text: string, host?: string): RcptOutcome {
  return { kind: 'temp', status, text: oneLine(text), ...(host ? { host } : {}) };
}

export function permanent(status: string, text: string, host?: string): RcptOutcome {
  return { kind: 'perm', status, text: oneLine(text), ...(host ? { host } : {}) };
}
