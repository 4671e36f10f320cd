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
  return new InboundPolicy({
    actions: checkActions(c),
    domainActions: c.checkOverrides,
    hostname: c.hostname,
    ourAddresses: ourAddresses(),
    isOurDomain: (name) => o.directory.isLocalDomain(name),
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
      decisions.inc({ check: d.check, action: d.action });
      const line = { check: d.check, action: d.action, client: ip, detail: d.detail, code: d.reply?.code };
      if (d.action === 'pass') log.debug(line, 'policy decision');
      else log.info(line, 'policy decision');
    },
  });
}
