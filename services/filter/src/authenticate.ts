// Sender authentication of inbound mail: DKIM (RFC 6376), SPF (RFC 7208) for
// the envelope sender and client IP intake recorded, and DMARC (RFC 7489)
// over both, via mailauth. The result is one Authentication-Results field
// (RFC 8601) plus Received-SPF, added above the original fields.
//
// Every lookup goes through the resolvers of POSTAMT_DNS_SERVERS (the system's
// when empty). DNS trouble is an authentication result (temperror), not a
// filter failure: the message is still scanned and delivered.
import { Resolver } from 'node:dns/promises';
import type { Readable } from 'node:stream';
import type { HostPort } from '@postamt/config';
import type { Envelope } from '@postamt/queue';
import { authenticate } from 'mailauth';

export interface AuthReport {
  /** Received-SPF and Authentication-Results, CRLF-terminated. */
  header: string;
  dmarc: { result: string; policy: string | null };
}

export type DnsResolve = (name: string, rrtype: string) => Promise<unknown>;

export function dnsResolver(servers: HostPort[], timeoutMs = 2_000): DnsResolve {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) {
    resolver.setServers(
      servers.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)),
    );
  }
  return (name, rrtype) => resolver.resolve(name, rrtype as 'TXT') as Promise<unknown>;
}

export class Authenticator {
  constructor(
    private readonly resolve: DnsResolve,
    /** The authserv-id: this server's host name (RFC 8601 §2.5). */
    readonly authservId: string,
  ) {}

  /** Checks mail that arrived on the MX; submission and internal mail are ours. */
  async check(envelope: Envelope, message: Readable): Promise<AuthReport | null> {
    if (envelope.source !== 'mx') {
      message.destroy();
      return null;
    }
    try {
      const r = await authenticate(message, {
        ip: envelope.client.ip,
        helo: envelope.client.helo,
        sender: envelope.mailFrom,
        mta: this.authservId,
        resolver: this.resolve as never,
        disableArc: true,
        disableBimi: true,
      });
      const header = r.headers.endsWith('\r\n') ? r.headers : `${r.headers.replace(/\r?\n$/, '')}\r\n`;
      return {
        header,
        dmarc: r.dmarc
          ? { result: r.dmarc.status.result, policy: r.dmarc.policy ?? null }
          : { result: 'none', policy: null },
      };
    } catch {
      // mailauth throws on unparsable input; the scan continues without authentication.
      return {
        header: `Authentication-Results: ${this.authservId}; none (internal error)\r\n`,
        dmarc: { result: 'none', policy: null },
      };
    } finally {
      message.destroy();
    }
  }
}
