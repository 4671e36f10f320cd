// Wires the inbound policy from config: the cached DNS resolver, the directory
// (our domains), Redis (greylisting), one log line and one metric per decision.
import { networkInterfaces } from 'node:os';
import type { Directory } from '@postamt/directory';
import { Counter, type Logger, type Registry } from '@postamt/observability';
import {
  allowlistKey,
  createResolver,
  DynamicAllowlist,
  type GreylistStore,
  InboundPolicy,
  type SetReader,
} from '@postamt/smtp-policy';
import type { IntakeConfig } from './config.js';
import { checkActions } from './policy-config.js';

/**
 * "Is this HELO name one of our domains?" is asked at every MAIL FROM, nearly
 * always with the answer no; remembering answers for a few seconds saves a
 * Redis round trip per message. A domain added meanwhile is known within the TTL.
 */
export function cachedDomainCheck(
  isLocalDomain: (name: string) => Promise<boolean>,
  ttlMs = 10_000,
  max = 10_000,
  now: () => number = Date.now,
): (name: string) => Promise<boolean> {
  const seen = new Map<string, { at: number; local: boolean }>();
  return async (name) => {
    const hit = seen.get(name);
    if (hit && now() - hit.at < ttlMs) return hit.local;
    const local = await isLocalDomain(name);
    if (seen.size >= max) seen.clear();
    seen.set(name, { at: now(), local });
    return local;
  };
}

/** Our non-loopback addresses: a HELO naming one of them claims to be us. */
function ourAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal)
    .map((a) => (a?.address ?? '').toLowerCase());
}

export function buildPolicy(o: {
  config: IntakeConfig;
  directory: Directory;
  redis: GreylistStore & SetReader;
  registry: Registry;
  logger: Logger;
}): InboundPolicy {
  const c = o.config;
  const decisions = new Counter({
    name: 'postamt_intake_policy_decisions_total',
    help: 'Inbound policy decisions, per check and action',
    labelNames: ['check', 'action'],
    registers: [o.registry],
  });
  const log = o.logger.child({ component: 'policy' });
  // One labelled child per (check, action), looked up once instead of per decision.
  const counters = new Map<string, { inc(): void }>();
  const count = (check: string, action: string) => {
    const key = `${check} ${action}`;
    let c = counters.get(key);
    if (!c) {
      c = decisions.labels({ check, action });
      counters.set(key, c);
    }
    c.inc();
  };
  const debug = log.isLevelEnabled('debug');
  return new InboundPolicy({
    actions: checkActions(c),
    domainActions: c.checkOverrides,
    hostname: c.hostname,
    ourAddresses: ourAddresses(),
    isOurDomain: cachedDomainCheck((name) => o.directory.isLocalDomain(name)),
    heloLiterals: c.heloAddressLiteral,
    trusted: c.mynetworks,
    dnsbl: { sites: c.dnsblSites, threshold: c.dnsblThreshold, allowThreshold: c.dnswlThreshold },
    greylist: {
      delayMs: c.greylistDelay,
      rememberMs: c.greylistRemember,
      pendingMs: c.greylistPending,
      allowClients: c.greylistAllowClients,
      allowDomains: c.greylistAllowDomains.map((d) => d.toLowerCase()),
    },
    spfMaxElapsedMs: c.spfTimeout,
    dns: createResolver({
      servers: c.dnsServers,
      timeoutMs: c.dnsTimeout,
      maxTtlMs: c.dnsCacheTtl,
      negativeTtlMs: Math.min(c.dnsCacheTtl, 60_000),
    }),
    greylistStore: o.redis,
    // Edited at run time through the admin API (postamt:policy:*:allow).
    allowlists: {
      greylist: new DynamicAllowlist(o.redis, allowlistKey('greylist')),
      dnsbl: new DynamicAllowlist(o.redis, allowlistKey('dnsbl')),
    },
    onDecision(d, ip) {
      count(d.check, d.action);
      if (d.action === 'pass' && !debug) return;
      const line = { check: d.check, action: d.action, client: ip, detail: d.detail, code: d.reply?.code };
      if (d.action === 'pass') log.debug(line, 'policy decision');
      else log.info(line, 'policy decision');
    },
  });
}
