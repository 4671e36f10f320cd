// Delivery to one destination (a recipient domain, or a transport override):
// resolve the route, apply MTA-STS and the receiving-server checks, then try
// the hosts in order until one takes the transaction. One SMTP session carries
// every recipient of the destination (in batches of the recipient limit).
// Outcomes are handed to `record` as soon as a server answered, so they are
// durable before the next batch starts.
import type { Readable } from 'node:stream';
import type { DnsResolver } from '@postamt/smtp-policy';
import { checkReceivingServer, type LegitimacyOptions } from './legitimacy.js';
import { MtaSts } from './mta-sts.js';
import { type RcptOutcome, temporary } from './replies.js';
import { type Candidate, type RouteOptions, resolveRoute } from './route.js';
import { SessionError, SmtpSession, type TlsMode } from './smtp-client.js';

export interface DestinationDeps {
  dns: DnsResolver;
  mtaSts: MtaSts | null;
  route: RouteOptions;
  legitimacy: LegitimacyOptions;
  heloName: string;
  recipientLimit: number;
  timeouts: { connectMs: number; greetingMs: number; socketMs: number };
  smarthostAuth?: { user: string; pass: string };
  log: (obj: Record<string, unknown>, msg: string) => void;
}

export interface Transaction {
  from: string;
  size: number;
  eightBit: boolean;
  body: () => Readable;
}

export type RecordOutcomes = (outcomes: Map<string, RcptOutcome>) => Promise<void>;

export async function deliverDestination(
  domain: string,
  recipients: string[],
  tx: Transaction,
  deps: DestinationDeps,
  record: RecordOutcomes,
): Promise<void> {
  const route = await resolveRoute(domain, deps.route, deps.dns);
  if (route.kind === 'fail') {
    deps.log({ domain, status: route.status, reason: route.text }, 'no route');
    const o: RcptOutcome = {
      kind: route.permanent ? 'perm' : 'temp',
      status: route.status,
      text: route.text,
    };
    return record(new Map(recipients.map((r) => [r, o])));
  }
  const explicitRoute = route.hosts.every((h) => h.explicit);
  const sts = !explicitRoute && deps.mtaSts ? await deps.mtaSts.policy(domain) : null;
  let open = [...recipients];
  let last: RcptOutcome = temporary(
    '4.4.1',
    `no mail host answered (${route.skipped.join('; ') || 'none tried'})`,
  );
  for (const host of route.hosts) {
    if (open.length === 0) break;
    const stsCheck = MtaSts.check(host.name, sts);
    if (!stsCheck.allowed) {
      deps.log({ domain, host: host.name }, 'MX not listed in the MTA-STS policy (enforce): skipped');
      last = temporary('4.7.5', `MX ${host.name} is not allowed by the MTA-STS policy of ${domain}`);
      continue;
    }
    let checks = `mta-sts=${stsCheck.mode}`;
    if (!host.explicit) {
      const legit = await checkReceivingServer(host.ip, deps.legitimacy, deps.dns);
      checks = `${legit.summary} ${checks}`;
      if (!legit.ok) {
        deps.log(
          { domain, host: host.name, ip: host.ip, checks },
          'receiving server failed the checks: skipped',
        );
        last = temporary(
          '4.7.0',
          `receiving server ${host.name}[${host.ip}] failed checks: ${legit.summary}`,
        );
        continue;
      }
    }
    const tls: TlsMode = stsCheck.mode === 'enforce' ? 'verify' : 'opportunistic';
    const session = await openSession(host, tls, deps).catch((err: unknown) => err as Error);
    if (!(session instanceof SmtpSession)) {
      const outcome = session instanceof SessionError ? session.outcome : temporary('4.4.1', session.message);
      deps.log(
        { domain, host: host.name, ip: host.ip, err: session.message },
        'session failed, trying next host',
      );
      // A server that fails the session is not the recipients' answer: try the next one.
      last = { ...outcome, kind: 'temp', checks } as RcptOutcome;
      continue;
    }
    checks = `${checks} tls=${session.tls}`;
    deps.log({ domain, host: session.host, checks }, 'connected');
    try {
      while (open.length > 0) {
        const batch = open.slice(0, deps.recipientLimit);
        const { outcomes, alive } = await session.send({ ...tx, to: batch });
        for (const [k, v] of outcomes) outcomes.set(k, { ...v, checks });
        await record(outcomes);
        open = open.slice(batch.length);
        if (!alive) break;
      }
    } finally {
      session.close();
    }
  }
  if (open.length > 0) await record(new Map(open.map((r) => [r, last])));
}

async function openSession(host: Candidate, tls: TlsMode, deps: DestinationDeps): Promise<SmtpSession> {
  const options = {
    ip: host.ip,
    port: host.port,
    name: host.name,
    heloName: deps.heloName,
    tls,
    ...(host.explicit && deps.smarthostAuth ? { auth: deps.smarthostAuth } : {}),
    connectTimeoutMs: deps.timeouts.connectMs,
    greetingTimeoutMs: deps.timeouts.greetingMs,
    socketTimeoutMs: deps.timeouts.socketMs,
  };
  try {
    return await SmtpSession.open(options);
  } catch (err) {
    // RFC 7435 §4 (opportunistic security): a failed TLS handshake falls back to
    // plaintext on a new connection. Never under MTA-STS enforce.
    if (err instanceof SessionError && err.tlsFailed && tls === 'opportunistic') {
      deps.log({ host: host.name, ip: host.ip }, 'STARTTLS failed, retrying without TLS');
      return SmtpSession.open({ ...options, tls: 'none' });
    }
    throw err;
  }
}
