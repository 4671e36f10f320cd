// The one result type every check produces, and the one function that turns a
// check's verdict plus its configured action into what the SMTP layer does.
// Reply text is generic and names the check; the detail goes to the log only
// (STYLE: reply text is generic, details go to the log).

/** What an operator configures per check (POSTAMT_CHECK_<NAME>). */
export type CheckAction = 'reject' | 'defer' | 'warn' | 'off';

export const CHECK_ACTIONS = ['reject', 'defer', 'warn', 'off'] as const;

export type CheckName =
  | 'helo'
  | 'helo_dns'
  | 'fcrdns'
  | 'sender'
  | 'sender_domain'
  | 'recipient'
  | 'dnsbl'
  | 'greylist'
  | 'spf';

export const CHECK_NAMES: readonly CheckName[] = [
  'helo',
  'helo_dns',
  'fcrdns',
  'sender',
  'sender_domain',
  'recipient',
  'dnsbl',
  'greylist',
  'spf',
];

/** An SMTP reply: code (RFC 5321 §4.2), enhanced status (RFC 3463), generic text. */
export interface PolicyReply {
  code: number;
  status: string;
  text: string;
}

/**
 * What a check found. `fail` carries the permanent reply for a `reject` action;
 * `tempfail` means the check could not be decided (a DNS timeout or SERVFAIL,
 * Redis down) and is never turned into a permanent reply.
 */
export type Verdict =
  | { result: 'pass'; detail?: string }
  | { result: 'fail'; reply: PolicyReply; detail: string }
  | { result: 'tempfail'; detail: string };

export interface Decision {
  check: CheckName;
  action: 'pass' | 'reject' | 'defer' | 'warn';
  /** Set for reject and defer: the reply to send. */
  reply?: PolicyReply;
  /** For the log line, never for the client. */
  detail: string;
}

/**
 * 5yz → 4yz for a `defer` action. RFC 5321 §4.2.5: 450 for a mailbox or policy
 * refusal that may succeed later, 451 for a local error in processing.
 */
export function toTemporary(r: PolicyReply): PolicyReply {
  if (r.code < 500) return r;
  return { code: 450, status: `4${r.status.slice(1)}`, text: r.text };
}

/** RFC 3463 X.4.3: directory server failure — the DNS lookup could not be completed. */
export function dnsTempfailReply(check: CheckName): PolicyReply {
  return { code: 451, status: '4.4.3', text: `Temporary lookup failure (${check}), try again later` };
}

export function decide(check: CheckName, verdict: Verdict, action: CheckAction): Decision {
  if (verdict.result === 'pass' || action === 'off') {
    return { check, action: 'pass', detail: verdict.detail ?? 'pass' };
  }
  if (action === 'warn') return { check, action: 'warn', detail: verdict.detail };
  if (verdict.result === 'tempfail') {
    // STYLE 8 and the issue: a DNS timeout is always a tempfail, never a reject.
    return { check, action: 'defer', reply: dnsTempfailReply(check), detail: verdict.detail };
  }
  return {
    check,
    action,
    reply: action === 'defer' ? toTemporary(verdict.reply) : verdict.reply,
    detail: verdict.detail,
  };
}
