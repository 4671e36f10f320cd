// Relay settings: the common POSTAMT_* ones plus the retry schedule, the
// receiving-server checks and the SMTP client limits. Declared once here and
// validated at start-up; process.env is not read anywhere else.
import {
  booleanish,
  commonShape,
  duration,
  loadConfig,
  markSecret,
  port,
  withCommonRules,
} from '@postamt/config';
import { type Cidr, parseCidr, parseDnsblSite } from '@postamt/smtp-policy';
import { z } from 'zod';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** What a failed receiving-server check does: defer the destination, only log, or skip the check. */
export const checkPolicy = z.enum(['defer', 'warn', 'off']);
export type CheckPolicy = z.output<typeof checkPolicy>;

const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const cidrList = list.transform((items, ctx) => {
  const out: Cidr[] = [];
  for (const item of items) {
    const c = parseCidr(item);
    if (!c) {
      ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of CIDRs, e.g. 127.0.0.0/8' });
      return z.NEVER;
    }
    out.push(c);
  }
  return out;
});

const dnsblList = list.transform((items, ctx) => {
  const sites = items.map(parseDnsblSite);
  if (sites.some((s) => s === null)) {
    ctx.addIssue({ code: 'custom', message: 'expected zone[=filter][*weight] items, e.g. zen.spamhaus.org' });
    return z.NEVER;
  }
  return sites as NonNullable<(typeof sites)[number]>[];
});

export const relaySchema = withCommonRules(
  z.object({
    ...commonShape,
    /** Jobs (messages) handled at once by this process. */
    relayConcurrency: count(1, 1000).default(20),
    /** Deliveries at once per destination, over all replicas (Postfix default_destination_concurrency_limit). */
    relayDestinationConcurrency: count(1, 100).default(10),
    /** Recipients per SMTP transaction (Postfix smtp_destination_recipient_limit; RFC 5321 §4.5.3.1.8). */
    relayRecipientLimit: count(1, 1000).default(50),
    /** TCP port of MX hosts (25; tests point it at their sink). Transport overrides carry their own. */
    relaySmtpPort: port.default(25),
    /** First retry after a temporary failure, doubling up to relayRetryMax (Postfix minimal/maximal_backoff_time). */
    relayRetryMin: duration.prefault('5m').refine((ms) => ms >= 10, 'expected at least 10ms'),
    /** Longest wait between retries. */
    relayRetryMax: duration.prefault('4000s'),
    /** Give up and bounce after this long in the queue (Postfix maximal_queue_lifetime). */
    relayMaxLifetime: duration.prefault('5d'),
    /** Send one delay warning (DSN Action: delayed) after this long; 0 turns warnings off. */
    relayDelayWarning: duration.prefault('0'),
    /** TCP connect to an MX host; then the next MX is tried. */
    relayConnectTimeout: duration.prefault('30s'),
    /** Wait for the 220 greeting (RFC 5321 §4.5.3.2.1 suggests 5 minutes). */
    relayGreetingTimeout: duration.prefault('5m'),
    /** Inactivity limit of an SMTP session (RFC 5321 §4.5.3.2 asks for minutes; DATA end waits 10m). */
    relaySocketTimeout: duration.prefault('10m'),
    /** MX/A/AAAA/TLSA/MTA-STS lookups; a timeout is a temporary failure. */
    relayDnsTimeout: duration.prefault('10s'),
    /** Forward-confirmed reverse DNS of the receiving server's address. */
    relayFcrdnsPolicy: checkPolicy.default('warn'),
    /** Blocklists the receiving server's address is looked up in (postscreen syntax). */
    relayDnsblSites: dnsblList.default([]),
    /** What a listing of the receiving server does: defer, warn or off. */
    relayDnsblPolicy: checkPolicy.default('off'),
    /** MTA-STS (RFC 8461): fetch policies and enforce them when their mode is enforce. */
    relayMtaSts: booleanish.default(true),
    /** Port of MTA-STS policy hosts (443; tests serve policies elsewhere). */
    relayMtaStsPort: port.default(443),
    /** Fetching an MTA-STS policy over HTTPS. */
    relayMtaStsTimeout: duration.prefault('30s'),
    /**
     * A PEM file of extra CAs trusted for MTA-STS policy hosts and MX
     * certificates (a private PKI, or a test CA). Node's roots stay trusted.
     */
    relayTlsCaFile: z.string().optional(),
    /** DANE (RFC 7672): look up TLSA records of MX hosts and authenticate by them. */
    relayDane: booleanish.default(true),
    /**
     * The resolvers in POSTAMT_DNS_SERVERS validate DNSSEC and their AD bit may be
     * believed (a validating resolver on the host or in the pod). Off: DANE
     * never applies, because no answer can be known to be secure.
     */
    relayDnssecTrustAd: booleanish.default(false),
    /** Keep a finished session open this long for the next message to the same destination; 0: off. */
    relayConnectionReuse: duration.prefault('5s'),
    /** Deliveries per second per destination over all replicas (token bucket in Redis); 0: no limit. */
    relayDestinationRate: z.coerce.number().min(0).max(100_000).default(0),
    /** Token-bucket size for POSTAMT_RELAY_DESTINATION_RATE. */
    relayDestinationBurst: count(1, 100_000).default(10),
    /** AUTH for transport overrides (a smarthost); only ever sent over TLS. */
    relaySmarthostUser: z.string().optional(),
    /** Password for POSTAMT_RELAY_SMARTHOST_USER (secret; never logged). */
    relaySmarthostPassword: z.string().optional(),
    /**
     * TESTS ONLY: networks the relay may connect to although they are not public
     * (loopback, private, ...). Empty in production; the SSRF guard stays on for
     * every other address.
     */
    relayTestAllowNetworks: cidrList.default([]),
    /** Sign submitted mail and our DSNs with the From domain's DKIM key (postamt:dkim:<domain>). */
    relayDkim: booleanish.default(true),
    /** How long a domain's DKIM key (or its absence) is cached. */
    relayDkimCache: duration.prefault('60s'),
    /** BullMQ job lock: a crashed relay's job is taken over after about this long. */
    relayJobLock: duration.prefault('60s').refine((ms) => ms >= 1000, 'expected at least 1s'),
  }),
).superRefine((v, ctx) => {
  if (v.relayRetryMax < v.relayRetryMin) {
    ctx.addIssue({
      code: 'custom',
      path: ['relayRetryMax'],
      message: 'expected at least POSTAMT_RELAY_RETRY_MIN',
    });
  }
  if (v.relayMaxLifetime < v.relayRetryMin) {
    ctx.addIssue({
      code: 'custom',
      path: ['relayMaxLifetime'],
      message: 'expected at least POSTAMT_RELAY_RETRY_MIN',
    });
  }
  if (Boolean(v.relaySmarthostUser) !== Boolean(v.relaySmarthostPassword)) {
    ctx.addIssue({
      code: 'custom',
      path: ['relaySmarthostPassword'],
      message: 'expected both POSTAMT_RELAY_SMARTHOST_USER and _PASSWORD, or neither',
    });
  }
});

markSecret('relaySmarthostPassword');

export type RelayConfig = z.output<typeof relaySchema>;

export function loadRelayConfig(env?: NodeJS.ProcessEnv): RelayConfig {
  return loadConfig(relaySchema, { service: 'relay', env });
}
