// The POSTAMT_* settings of the inbound checks (issue 4), declared once and
// merged into the intake schema. Every check has an action:
// POSTAMT_CHECK_<NAME>=reject|defer|warn|off.
import { duration } from '@postamt/config';
import {
  CHECK_ACTIONS,
  CHECK_NAMES,
  type CheckAction,
  type CheckName,
  type DnsblSite,
  isFqdn,
  parseCidr,
  parseDnsblSite,
} from '@postamt/smtp-policy';
import { z } from 'zod';

const action = z.enum(CHECK_ACTIONS, { message: 'expected reject, defer, warn or off' });

const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const cidrList = list.transform((items, ctx) => {
  const out = items.map((s) => parseCidr(s));
  if (out.some((c) => c === null)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected comma-separated networks, e.g. 10.0.0.0/8,2001:db8::/32',
    });
    return z.NEVER;
  }
  return out as NonNullable<(typeof out)[number]>[];
});

const dnsblSites = list.transform((items, ctx) => {
  const out = items.map(parseDnsblSite);
  if (out.some((s) => s === null)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected zone[=filter][*weight] items, e.g. zen.spamhaus.org=127.0.0.[2..11]*3',
    });
    return z.NEVER;
  }
  return out as DnsblSite[];
});

type DomainActions = Record<string, Partial<Record<CheckName, CheckAction>>>;

const OVERRIDES_HINT =
  'expected domain:check=action,...;domain:... (or a YAML mapping domain: {check: action}), ' +
  `checks ${CHECK_NAMES.join(' ')}, actions reject defer warn off`;

/** `example.test:greylist=off,spf=reject;other.test:recipient=warn` → mapping. */
function parseOverrideText(value: string): Record<string, Record<string, string>> | null {
  const out: Record<string, Record<string, string>> = {};
  for (const part of value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon < 1) return null;
    const pairs = part
      .slice(colon + 1)
      .split(',')
      .map((p) => p.trim().split('='));
    if (pairs.some((p) => p.length !== 2)) return null;
    out[part.slice(0, colon).trim()] = Object.fromEntries(pairs.map(([c, a]) => [c?.trim(), a?.trim()]));
  }
  return out;
}

/**
 * Per recipient domain, overrides of check actions (POSTAMT_CHECK_OVERRIDES, or
 * `check_overrides` in the YAML file). A check with any override is answered
 * at RCPT TO (see packages/smtp-policy policy.ts).
 */
const domainActions = z
  .union([z.string(), z.record(z.string(), z.record(z.string(), z.string()))])
  .transform((value, ctx): DomainActions => {
    const raw = typeof value === 'string' ? parseOverrideText(value) : value;
    const bad = () => {
      ctx.addIssue({ code: 'custom', message: OVERRIDES_HINT });
      return z.NEVER;
    };
    if (raw === null) return bad();
    const out: DomainActions = {};
    for (const [domain, checks] of Object.entries(raw)) {
      const name = domain.trim().toLowerCase().replace(/\.$/, '');
      const ok =
        isFqdn(name) &&
        Object.entries(checks).every(
          ([c, a]) => CHECK_NAMES.includes(c as CheckName) && CHECK_ACTIONS.includes(a as CheckAction),
        );
      if (!ok) return bad();
      out[name] = { ...out[name], ...(checks as Partial<Record<CheckName, CheckAction>>) };
    }
    return out;
  });

export const policyShape = {
  /** Networks whose clients skip the inbound checks (they are NOT allowed to relay). Empty by default. */
  mynetworks: cidrList.default([]),
  /** Per DNS query; a timeout is a tempfail (4xx), never a reject. */
  dnsTimeout: duration.prefault('5s'),
  /** Upper bound on how long a DNS answer is cached (its TTL, when shorter, wins); 0 disables the cache. */
  dnsCacheTtl: duration.prefault('1h'),
  /** HELO/EHLO present and a syntactically valid FQDN, not one of ours: `reject` (5xx), `defer` (4xx), `warn` (accept, log, header) or `off`. */
  checkHelo: action.default('reject'),
  /** The HELO name resolves (A/AAAA/MX). */
  checkHeloDns: action.default('reject'),
  /** The client address has a PTR whose name resolves back to it (FCrDNS). */
  checkFcrdns: action.default('reject'),
  /** MAIL FROM is `<>` or an FQDN-conformant address. */
  checkSender: action.default('reject'),
  /** The sender's domain resolves (MX or A/AAAA). */
  checkSenderDomain: action.default('reject'),
  /** RCPT TO is FQDN-conformant and, for our domains, exists (550 5.1.1 at RCPT). */
  checkRecipient: action.default('reject'),
  /** The client's score on POSTAMT_DNSBL_SITES reaches POSTAMT_DNSBL_THRESHOLD. */
  checkDnsbl: action.default('reject'),
  /** Greylisting of unknown (client /24 or /64, sender, recipient) triplets. */
  checkGreylist: action.default('defer'),
  /** `reject` refuses an SPF `fail` (-all); the result is recorded in any case unless `off`. */
  checkSpf: action.default('warn'),
  /** Per-recipient-domain actions, e.g. `lenient.example:fcrdns=warn,dnsbl=off;other.example:greylist=defer`. */
  checkOverrides: domainActions.optional(),
  /** HELO [address literal]: allow, match (must be the client's address) or reject. */
  heloAddressLiteral: z.enum(['allow', 'match', 'reject']).default('match'),
  /** DNS blocklists and allowlists, postscreen syntax: `zone[=filter][*weight]`, comma-separated. */
  dnsblSites: dnsblSites.default([]),
  /** Sum of weights at which a client counts as listed. */
  dnsblThreshold: z.coerce.number().int().min(1).default(1),
  /** A score at or below this (negative weights) allowlists the client. */
  dnswlThreshold: z.coerce.number().int().max(-1).default(-1),
  /** How long a triplet that passed (and its client) is remembered. */
  greylistRemember: duration.prefault('35d'),
  /** How long a first attempt waits for its retry before it is forgotten. */
  greylistPending: duration.prefault('2d'),
  /** Client networks never greylisted. */
  greylistAllowClients: cidrList.default([]),
  /** Sender domains never greylisted. */
  greylistAllowDomains: list.default([]),
  /** Whole SPF evaluation; a timeout records `temperror`. */
  spfTimeout: duration.prefault('10s'),
};

const policySchema = z.object(policyShape);
export type PolicyConfig = z.output<typeof policySchema>;

export function checkActions(c: PolicyConfig): Record<CheckName, CheckAction> {
  return {
    helo: c.checkHelo,
    helo_dns: c.checkHeloDns,
    fcrdns: c.checkFcrdns,
    sender: c.checkSender,
    sender_domain: c.checkSenderDomain,
    recipient: c.checkRecipient,
    dnsbl: c.checkDnsbl,
    greylist: c.checkGreylist,
    spf: c.checkSpf,
  };
}
