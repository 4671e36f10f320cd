// Delivery to one destination (a recipient domain, or a transport override).
// A session parked by an earlier message to the same destination is reused if
// one is there; otherwise the route is resolved and the hosts tried in order
// until one takes the transaction. Per host, before connecting:
//   - DANE (RFC 7672): a DNSSEC-secure TLSA RRset for the host decides the TLS
//     requirement and how the certificate is authenticated, and MTA-STS is not
//     applied to that host (RFC 8461 §2)
//   - otherwise MTA-STS (RFC 8461): under enforce, unlisted hosts are skipped
//     and TLS with a valid certificate is required
//   - receiving-server legitimacy (FCrDNS, blocklists)
// One SMTP session carries every recipient of the destination (in batches of
// the recipient limit). Outcomes are handed to `record` as soon as a server
// answered, so they are durable before the next batch starts.
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { DnsResolver } from '@postamt/smtp-policy';
import { type Tlsa, usableTlsa } from './dane.js';
import { type DnssecResolver, TYPE } from './dnssec.js';
import { checkReceivingServer, type LegitimacyOptions } from './legitimacy.js';
import { MtaSts, type StsLookup } from './mta-sts.js';
import { type RcptOutcome, temporary } from './replies.js';
import { type Candidate, type RouteOptions, resolveRoute } from './route.js';
import type { SessionPool } from './session-pool.js';
import { type RcptDsn, SessionError, SmtpSession, type TlsMode } from './smtp-client.js';

export interface DestinationDeps {
  dns: DnsResolver;
  mtaSts: MtaSts | null;
  /** DANE lookups; null or not trusted: DANE off. */
  dnssec: DnssecResolver | null;
  pool: SessionPool | null;
  route: RouteOptions;
  legitimacy: LegitimacyOptions;
  heloName: string;
  recipientLimit: number;
  /** CAs for verified TLS (MTA-STS); default Node's roots. */
  ca?: string[];
  timeouts: { connectMs: number; greetingMs: number; socketMs: number };
  smarthostAuth?: { user: string; pass: string };
  log: (obj: Record<string, unknown>, msg: string) => void;
}

export interface Transaction {
  from: string;
  size: number;
  eightBit: boolean;
  body: () => Readable;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  rcptDsn?: ReadonlyMap<string, RcptDsn>;
}

export type RecordOutcomes = (outcomes: Map<string, RcptOutcome>) => Promise<void>;

/** How one host must be spoken to, and what was found out about it. */
type HostPlan =
  | { ok: true; tls: TlsMode; tlsa?: Tlsa[]; daneNames?: string[]; checks: string }
  | { ok: false; outcome: RcptOutcome; checks: string };

export async function deliverDestination(
  key: string,
  domain: string,
  recipients: string[],
  tx: Transaction,
  deps: DestinationDeps,
  record: RecordOutcomes,
): Promise<void> {
  let open = [...recipients];
  const reused = await deps.pool?.take(key);
  if (reused) {
    deps.log({ domain, host: reused.host, checks: reused.checks }, 'reusing connection');
    open = await sendAll(key, reused, open, tx, deps, record);
    if (open.length === 0) return;
  }

  const route = await resolveRoute(domain, deps.route, deps.dns);
  if (route.kind === 'fail') {
    deps.log({ domain, status: route.status, reason: route.text }, 'no route');
    const o: RcptOutcome = {
      kind: route.permanent ? 'perm' : 'temp',
      status: route.status,
      text: route.text,
    };
    return record(new Map(open.map((r) => [r, o])));
  }
  const explicitRoute = route.hosts.every((h) => h.explicit);
  const sts: StsLookup =
    !explicitRoute && deps.mtaSts ? await deps.mtaSts.policy(domain) : { policy: null, source: 'off' };
  if (sts.policy)
    deps.log({ domain, mode: sts.policy.mode, id: sts.policy.id, source: sts.source }, 'MTA-STS policy');
  else if (sts.source.startsWith('error')) deps.log({ domain, source: sts.source }, 'no MTA-STS policy');
  // RFC 7672 §2.2.1: TLSA records of MX hosts count only if the MX RRset is secure.
  const mxSecure = !explicitRoute && deps.dnssec?.enabled ? await secureMx(domain, deps.dnssec) : false;

  let last: RcptOutcome = temporary(
    '4.4.1',
    `no mail host answered (${route.skipped.join('; ') || 'none tried'})`,
  );
  for (const host of route.hosts) {
    if (open.length === 0) break;
    const plan = await planHost(host, domain, sts, mxSecure, deps);
    if (!plan.ok) {
      last = { ...plan.outcome, checks: plan.checks } as RcptOutcome;
      continue;
    }
    const session = await openSession(host, plan, deps).catch((err: unknown) => err as Error);
    if (!(session instanceof SmtpSession)) {
      const outcome = session instanceof SessionError ? session.outcome : temporary('4.4.1', session.message);
      deps.log(
        { domain, host: host.name, ip: host.ip, checks: plan.checks, err: session.message },
        'session failed, trying next host',
      );
      // A server that fails the session is not the recipients' answer: try the next one.
      last = { ...outcome, kind: 'temp', checks: plan.checks } as RcptOutcome;
      continue;
    }
    session.checks = `${plan.checks} tls=${session.tls.replace(/ /g, '/')} cert=${session.auth.replace(/ /g, '/')}`;
    deps.log({ domain, host: session.host, checks: session.checks }, 'connected');
    open = await sendAll(key, session, open, tx, deps, record);
  }
  if (open.length > 0) await record(new Map(open.map((r) => [r, last])));
}

/** Sends to `open` in batches over `session`; parks it if still good. Returns who is left. */
async function sendAll(
  key: string,
  session: SmtpSession,
  open: string[],
  tx: Transaction,
  deps: DestinationDeps,
  record: RecordOutcomes,
): Promise<string[]> {
  let alive = true;
  try {
    while (open.length > 0 && alive) {
      const batch = open.slice(0, deps.recipientLimit);
      const r = await session.send({ ...tx, to: batch });
      for (const [k, v] of r.outcomes) r.outcomes.set(k, { ...v, checks: session.checks });
      await record(r.outcomes);
      open = open.slice(batch.length);
      alive = r.alive;
    }
  } catch (err) {
    alive = false;
    throw err;
  } finally {
    if (alive && deps.pool) deps.pool.put(key, session);
    else session.close();
  }
  return open;
}

/** RFC 7672 §2.2.1: a secure MX RRset, or a secure denial of one (the domain is its own MX host). */
async function secureMx(domain: string, dnssec: DnssecResolver): Promise<boolean> {
  const a = await dnssec.lookup(domain, TYPE.MX);
  return a.kind !== 'tempfail' && a.secure;
}

type DaneLookup =
  | { kind: 'dane'; tls: TlsMode; tlsa: Tlsa[]; names: string[]; checks: string }
  | { kind: 'off'; checks: string }
  | { kind: 'tempfail'; reason: string; checks: string };

/** RFC 7672 §2.2: the TLSA records of a host, when its address and TLSA RRsets are secure. */
async function daneFor(host: Candidate, dnssec: DnssecResolver): Promise<DaneLookup> {
  // §2.2.2: only hosts whose address records are secure are looked up.
  const addr = await dnssec.lookup(host.name, isIP(host.ip) === 6 ? TYPE.AAAA : TYPE.A);
  if (addr.kind === 'tempfail') return { kind: 'tempfail', reason: addr.reason, checks: 'dane=tempfail' };
  if (!(addr.kind === 'ok' && addr.secure)) return { kind: 'off', checks: 'dane=insecure-address' };
  // §2.2.2: a host name that is an alias (its secure address answer ends a CNAME chain elsewhere) has
  // its TLSA records looked up at the expanded name first, and at its own name only when the expanded
  // name securely has none; a certificate may then name either (§3.2.2).
  const own = host.name.toLowerCase().replace(/\.$/, '');
  const bases = addr.canonical && addr.canonical !== own ? [addr.canonical, own] : [own];
  for (const [i, base] of bases.entries()) {
    const a = await dnssec.lookup(`_${host.port}._tcp.${base}`, TYPE.TLSA);
    if (a.kind === 'tempfail') return { kind: 'tempfail', reason: a.reason, checks: 'dane=tempfail' };
    if (a.kind === 'none' && a.secure && i + 1 < bases.length) continue;
    if (a.kind === 'none' || !a.secure)
      return { kind: 'off', checks: `dane=${a.kind === 'ok' ? 'insecure' : 'no-tlsa'}` };
    const tlsa = usableTlsa(a.rdata.map(parseTlsa).filter((x) => x !== null));
    const names = bases.length > 1 ? [own, bases[0] as string] : [own];
    const at = base === own ? '' : `@${base}`;
    // §2.2: TLSA records but none usable → TLS still mandatory, unauthenticated.
    return tlsa.length > 0
      ? { kind: 'dane', tls: 'dane', tlsa, names, checks: `dane=${tlsa.length}-usable-tlsa${at}` }
      : { kind: 'dane', tls: 'required', tlsa, names, checks: `dane=no-usable-tlsa${at}` };
  }
  return { kind: 'off', checks: 'dane=no-tlsa' };
}

function parseTlsa(rdata: Buffer): Tlsa | null {
  if (rdata.length < 4) return null;
  return {
    usage: rdata[0] as number,
    selector: rdata[1] as number,
    mtype: rdata[2] as number,
    data: rdata.subarray(3),
  };
}

async function planHost(
  host: Candidate,
  domain: string,
  sts: StsLookup,
  mxSecure: boolean,
  deps: DestinationDeps,
): Promise<HostPlan> {
  let tls: TlsMode = 'opportunistic';
  let tlsa: Tlsa[] | undefined;
  let daneNames: string[] | undefined;
  const d = mxSecure && deps.dnssec && !host.explicit ? await daneFor(host, deps.dnssec) : null;
  if (d?.kind === 'tempfail') {
    // RFC 7672 §2.2: a failed TLSA lookup makes the host unusable, never plaintext.
    deps.log({ domain, host: host.name, reason: d.reason }, 'TLSA lookup failed: host skipped');
    return {
      ok: false,
      outcome: temporary('4.7.5', `TLSA lookup for ${host.name} failed (${d.reason})`),
      checks: d.checks,
    };
  }
  let checks = d?.checks ?? '';
  const dane = d?.kind === 'dane';
  if (d?.kind === 'dane') {
    tls = d.tls;
    tlsa = d.tlsa;
    daneNames = d.names;
  }
  if (!dane) {
    const c = MtaSts.check(host.name, sts.policy);
    checks =
      `${checks} mta-sts=${c.mode}${c.mode === 'none' ? '' : c.matched ? '(mx-match)' : '(mx-mismatch)'}`.trim();
    if (!c.allowed) {
      deps.log({ domain, host: host.name }, 'MX not listed in the MTA-STS policy (enforce): skipped');
      return {
        ok: false,
        outcome: temporary('4.7.5', `MX ${host.name} is not allowed by the MTA-STS policy of ${domain}`),
        checks,
      };
    }
    if (c.mode === 'testing' && !c.matched) {
      deps.log({ domain, host: host.name }, 'MTA-STS testing: MX not listed in the policy (reported only)');
    }
    if (c.mode === 'enforce') tls = 'verify';
  } else checks = `${checks} mta-sts=skipped(dane)`;
  if (!host.explicit) {
    const legit = await checkReceivingServer(host.ip, deps.legitimacy, deps.dns);
    checks = `${legit.summary} ${checks}`.trim();
    if (!legit.ok) {
      deps.log(
        { domain, host: host.name, ip: host.ip, checks },
        'receiving server failed the checks: skipped',
      );
      return {
        ok: false,
        outcome: temporary(
          '4.7.0',
          `receiving server ${host.name}[${host.ip}] failed checks: ${legit.summary}`,
        ),
        checks,
      };
    }
  }
  return { ok: true, tls, ...(tlsa ? { tlsa, daneNames } : {}), checks };
}

async function openSession(
  host: Candidate,
  plan: HostPlan & { ok: true },
  deps: DestinationDeps,
): Promise<SmtpSession> {
  const options = {
    ip: host.ip,
    port: host.port,
    name: host.name,
    heloName: deps.heloName,
    tls: plan.tls,
    ...(plan.tlsa ? { tlsa: plan.tlsa, daneNames: plan.daneNames } : {}),
    ...(deps.ca ? { ca: deps.ca } : {}),
    ...(host.explicit && deps.smarthostAuth ? { auth: deps.smarthostAuth } : {}),
    connectTimeoutMs: deps.timeouts.connectMs,
    greetingTimeoutMs: deps.timeouts.greetingMs,
    socketTimeoutMs: deps.timeouts.socketMs,
  };
  try {
    return await SmtpSession.open(options);
  } catch (err) {
    // RFC 7435 §4 (opportunistic security): a failed TLS handshake falls back to
    // plaintext on a new connection. Never under DANE or MTA-STS enforce.
    if (err instanceof SessionError && err.tlsFailed && plan.tls === 'opportunistic') {
      deps.log({ host: host.name, ip: host.ip }, 'STARTTLS failed, retrying without TLS');
      return SmtpSession.open({ ...options, tls: 'none' });
    }
    throw err;
  }
}
