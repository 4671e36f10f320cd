export { allowlistKey, DynamicAllowlist, type SetReader } from './allowlist.js';
// Inbound SMTP policy: one module per check (checks/), a cached DNS resolver,
// and the per-session runner that applies each check's configured action.

export { checkDnsbl, DnsblReplies } from './checks/dnsbl.js';
export { type DnsblSite, parseDnsblSite } from './checks/dnsbl-sites.js';
export { checkFcrdns, FcrdnsReplies } from './checks/fcrdns.js';
export {
  checkGreylist,
  type GreylistOptions,
  GreylistReplies,
  type GreylistStore,
} from './checks/greylist.js';
export { checkHelo, type HeloLiteralPolicy, HeloReplies } from './checks/helo.js';
export { checkHeloDns, HeloDnsReplies } from './checks/helo-dns.js';
export { checkRecipientSyntax, RecipientReplies } from './checks/recipient.js';
export { checkSender, SenderReplies } from './checks/sender.js';
export { checkSenderDomain, SenderDomainReplies } from './checks/sender-domain.js';
export { checkSpf, SpfReplies } from './checks/spf.js';
export {
  CHECK_ACTIONS,
  CHECK_NAMES,
  type CheckAction,
  type CheckName,
  type Decision,
  decide,
  type PolicyReply,
  type Verdict,
} from './decision.js';
export { createResolver, type DnsResolver, type DnsResult, type ResolverOptions } from './dns.js';
export { isFqdn, parseAddressLiteral } from './fqdn.js';
export { type Cidr, clientNetwork, inCidrs, normalizeIp, parseCidr, ptrName } from './ip.js';
export { InboundPolicy, type PolicyOptions, PolicySession } from './policy.js';
