// The inbound policy of one SMTP session: which check runs at which stage, what
// each configured action makes of its verdict, and what is remembered between
// stages. Stages (RFC 5321 §3): connect → DNSBL/DNSWL and FCrDNS lookups start
// at once, in parallel; only a DNSBL reject is answered at the greeting (554,
// RFC 5321 §3.1). HELO/EHLO, FCrDNS and sender checks are answered at MAIL FROM,
// recipient syntax and greylisting at RCPT TO.
// Per-domain overrides are keyed by the recipient domain, which is known only
// at RCPT TO. So a check that has an override for any domain is answered there,
// once per recipient, with that recipient's action — what Postfix does for
// every check with smtpd_delay_reject = yes. Its lookups still start early;
// only the answer waits. Checks without overrides keep their early answer. Trusted networks skip the DNS-based checks (reverse DNS, HELO and sender
// domain lookups, DNSBL, SPF, greylisting) but not the syntax ones (HELO FQDN,
// sender and recipient FQDN): a legitimate client passes those anyway. A DNSWL
// allowlisting skips the client checks and greylisting.

import type { DynamicAllowlist } from './allowlist.js';
import { checkDnsbl, type DnsblOptions, type DnsblVerdict } from './checks/dnsbl.js';
import { checkFcrdns, type FcrdnsVerdict } from './checks/fcrdns.js';
import { checkGreylist, type GreylistOptions, type GreylistStore } from './checks/greylist.js';
import { checkHelo, type HeloLiteralPolicy } from './checks/helo.js';
import { checkHeloDns } from './checks/helo-dns.js';
import { checkRecipientSyntax } from './checks/recipient.js';
import { checkSender } from './checks/sender.js';
import { checkSenderDomain } from './checks/sender-domain.js';
import { checkSpf, type SpfVerdict } from './checks/spf.js';
import { type CheckAction, type CheckName, type Decision, decide, type Verdict } from './decision.js';
import type { DnsResolver } from './dns.js';
import { type Cidr, inCidrs, normalizeIp } from './ip.js';

export interface PolicyOptions {
  actions: Record<CheckName, CheckAction>;
  /** Per recipient domain (lower-case), overrides of any check's action (see the top of this file). */
  domainActions?: Record<string, Partial<Record<CheckName, CheckAction>>>;
  hostname: string;
  /** Our own addresses, for "HELO [our IP]". */
  ourAddresses: readonly string[];
  isOurDomain: (name: string) => Promise<boolean>;
  heloLiterals: HeloLiteralPolicy;
  /** Clients that skip the DNS-based checks (POSTAMT_MYNETWORKS). Empty by default. */
  trusted: readonly Cidr[];
  dnsbl: DnsblOptions;
  greylist: GreylistOptions;
  spfMaxElapsedMs: number;
  dns: DnsResolver;
  greylistStore: GreylistStore;
  /** Run-time allowlists from the admin API (Redis); optional. */
  allowlists?: { greylist?: DynamicAllowlist; dnsbl?: DynamicAllowlist };
  /** Called once per decision: the log line and the metric. */
  onDecision?: (d: Decision, ip: string) => void;
}

/** Which checks run and which of them answer at RCPT TO: derived once from the options. */
export interface PolicyPlan {
  /** Checks whose action is not `off` for every domain. */
  runs: ReadonlySet<CheckName>;
  /** Checks with a per-domain override: answered per recipient (smtpd_delay_reject). */
  delayed: ReadonlySet<CheckName>;
}

export function planOf(o: PolicyOptions): PolicyPlan {
  const runs = new Set<CheckName>();
  const delayed = new Set<CheckName>();
  for (const [check, action] of Object.entries(o.actions) as [CheckName, CheckAction][]) {
    if (action !== 'off') runs.add(check);
  }
  for (const overrides of Object.values(o.domainActions ?? {})) {
    for (const [check, action] of Object.entries(overrides) as [CheckName, CheckAction][]) {
      delayed.add(check);
      if (action !== 'off') runs.add(check);
    }
  }
  return { runs, delayed };
}

export class InboundPolicy {
  readonly plan: PolicyPlan;

  constructor(readonly o: PolicyOptions) {
    this.plan = planOf(o);
  }

  /** Starts the client checks for a new connection; nothing is awaited here. */
  session(remoteIp: string): PolicySession {
    return new PolicySession(this.o, normalizeIp(remoteIp), this.plan);
  }
}

interface ClientChecks {
  dnsbl: DnsblVerdict | null;
  fcrdns: FcrdnsVerdict | null;
}

export class PolicySession {
  readonly trusted: boolean;
  /** The FCrDNS-verified host name, once known (for the Received header). */
  ptr: string | undefined;
  allowlisted = false;
  /** Decisions with action `warn`, kept for the message header. */
  private warnings: Decision[] = [];
  private spfAuth: string | undefined;
  private readonly client: Promise<ClientChecks>;
  private pending: Decision | null = null;
  /** Failed verdicts of delayed checks, answered per recipient (connect-stage ones survive RSET). */
  private delayedClient: [CheckName, Verdict][] = [];
  private delayedTx: [CheckName, Verdict][] = [];

  constructor(
    private readonly o: PolicyOptions,
    readonly ip: string,
    private readonly plan: PolicyPlan = planOf(o),
  ) {
    this.trusted = inCidrs(ip, o.trusted);
    const on = (c: CheckName) => !this.trusted && plan.runs.has(c);
    const dnsbl = on('dnsbl')
      ? (o.allowlists?.dnsbl?.matches(ip) ?? Promise.resolve(false)).then((allowed) =>
          allowed ? null : checkDnsbl(ip, o.dnsbl, o.dns),
        )
      : Promise.resolve(null);
    // FCrDNS always runs (unless trusted): its name goes into the Received header.
    const fcrdns = this.trusted ? Promise.resolve(null) : checkFcrdns(ip, o.dns);
    this.client = Promise.all([dnsbl, fcrdns]).then(([d, f]) => ({ dnsbl: d, fcrdns: f }));
  }

  private action(check: CheckName, domain?: string): CheckAction {
    const override = domain ? this.o.domainActions?.[domain]?.[check] : undefined;
    return override ?? this.o.actions[check];
  }

  private record(check: CheckName, verdict: Verdict, domain?: string): Decision {
    const d = decide(check, verdict, this.action(check, domain));
    this.o.onDecision?.(d, this.ip);
    if (d.action === 'warn' && !this.warnings.some((w) => w.check === check)) this.warnings.push(d);
    return d;
  }

  /** Records a verdict now, or keeps a failed one of a delayed check for RCPT TO. */
  private recordOrDelay(check: CheckName, verdict: Verdict, into: [CheckName, Verdict][]): Decision | null {
    if (!this.plan.delayed.has(check)) return this.record(check, verdict);
    if (verdict.result !== 'pass' && !into.some(([c]) => c === check)) into.push([check, verdict]);
    return null;
  }

  /** RFC 5321 §3.1: a client on a blocklist may get 554 instead of the greeting. */
  async atConnect(): Promise<Decision | null> {
    const c = await this.client;
    if (c.fcrdns?.result === 'pass') this.ptr = c.fcrdns.ptr;
    if (!c.dnsbl) return null;
    this.allowlisted = c.dnsbl.allowlisted;
    const d = this.recordOrDelay('dnsbl', c.dnsbl, this.delayedClient);
    if (!d) return null;
    if (d.action === 'reject') return d;
    // A deferral cannot be said at the greeting (only 554 or 421 are); MAIL FROM says it.
    if (d.action === 'defer') this.pending = d;
    return null;
  }

  /** HELO/EHLO and client legitimacy, then the sender; the first refusal wins. */
  async atMail(helo: string | undefined, mailFrom: string): Promise<Decision | null> {
    this.warnings = this.warnings.filter((w) => w.check === 'dnsbl' || w.check === 'fcrdns');
    this.spfAuth = undefined;
    this.delayedTx = [];
    if (this.pending) return this.pending;
    const o = this.o;
    const on = (c: CheckName) => this.plan.runs.has(c);
    const lookup = (c: CheckName) => on(c) && !this.trusted;
    const client = this.allowlisted ? null : (await this.client).fcrdns;
    const [helo1, heloDns, sender, senderDomain, spf] = await Promise.all([
      on('helo')
        ? checkHelo({
            helo,
            clientIp: this.ip,
            literals: o.heloLiterals,
            ourNames: [o.hostname.toLowerCase(), ...o.ourAddresses],
            isOurDomain: o.isOurDomain,
          })
        : null,
      lookup('helo_dns') && !this.allowlisted ? checkHeloDns(helo, o.dns) : null,
      on('sender') ? checkSender(mailFrom) : null,
      lookup('sender_domain') ? checkSenderDomain(mailFrom, o.dns) : null,
      lookup('spf')
        ? checkSpf(
            { clientIp: this.ip, helo, mailFrom, hostname: o.hostname, maxElapsedMs: o.spfMaxElapsedMs },
            o.dns,
          )
        : null,
    ]);
    this.spfAuth = (spf as SpfVerdict | null)?.authResult;
    const ordered: [CheckName, Verdict | null][] = [
      ['helo', helo1],
      ['fcrdns', lookup('fcrdns') && !this.warnings.some((w) => w.check === 'fcrdns') ? client : null],
      ['helo_dns', heloDns],
      ['sender', sender],
      ['sender_domain', senderDomain],
      ['spf', spf],
    ];
    let refusal: Decision | null = null;
    for (const [check, verdict] of ordered) {
      if (!verdict) continue;
      // FCrDNS is a client check: its verdict holds for the whole session, like DNSBL's.
      const d = this.recordOrDelay(check, verdict, check === 'fcrdns' ? this.delayedClient : this.delayedTx);
      if (!refusal && d && (d.action === 'reject' || d.action === 'defer')) refusal = d;
    }
    return refusal;
  }

  /**
   * The delayed checks with this recipient's domain action, in the order
   * Postfix applies its restrictions (client, HELO, sender), then recipient
   * syntax (always, even for trusted clients). The first refusal wins.
   */
  async atRcpt(rcptTo: string): Promise<Decision | null> {
    const domain = domainOfLower(rcptTo);
    for (const [check, verdict] of [...this.delayedClient, ...this.delayedTx]) {
      const d = this.record(check, verdict, domain);
      if (d.action === 'reject' || d.action === 'defer') return d;
    }
    if (this.action('recipient', domain) === 'off') return null;
    const d = this.record('recipient', checkRecipientSyntax(rcptTo), domain);
    return d.action === 'reject' || d.action === 'defer' ? d : null;
  }

  /** Greylisting, asked after the recipient is known to exist (no triplets for unknown users). */
  async greylist(mailFrom: string, rcptTo: string): Promise<Decision | null> {
    const domain = domainOfLower(rcptTo);
    if (this.trusted || this.allowlisted || this.action('greylist', domain) === 'off') return null;
    if (await this.o.allowlists?.greylist?.matches(this.ip, [domainOfLower(mailFrom), domain])) return null;
    const v = await checkGreylist(
      { clientIp: this.ip, sender: mailFrom, recipient: rcptTo },
      this.o.greylist,
      this.o.greylistStore,
    );
    const d = this.record('greylist', v, domain);
    return d.action === 'reject' || d.action === 'defer' ? d : null;
  }

  /** Header fields for the accepted message: SPF result and warned checks. */
  headers(): string[] {
    const out: string[] = [];
    if (this.spfAuth) out.push(`Authentication-Results: ${this.o.hostname};\r\n\t${this.spfAuth}`);
    if (this.warnings.length) {
      out.push(`X-Postamt-Policy: ${this.warnings.map((w) => `${w.check}=warn`).join(' ')}`);
    }
    return out;
  }
}

function domainOfLower(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  return at < 0 ? undefined : address.slice(at + 1).toLowerCase();
}
