// Notices a NATed deployment: when the MX listener runs without PROXY protocol
// and `warnAfter` connections in a row all come from one address in a private
// range (a Docker bridge gateway, a Kubernetes node doing SNAT, a load
// balancer), every client looks the same. Then reverse DNS, DNSBL, greylisting
// and the per-client limits judge the gateway instead of the sender, and a
// trusted-network setting that covers the gateway would make an open relay.
// The warning is logged loudly once per episode and shown in /readyz detail;
// it never fails readiness (the server still works).
import { type Cidr, inCidrs } from '@postamt/smtp-policy';

interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class GatewayWatch {
  private last: string | null = null;
  private run = 0;
  private suspect: string | null = null;
  /** The current run's address was looked up and is not in a gateway network. */
  private cleared = false;

  constructor(
    private readonly o: { warnAfter: number; networks: readonly Cidr[]; proxyProtocol: boolean },
    private readonly log: Log,
  ) {}

  /** Called once per MX connection with the client address the checks will see. */
  observe(ip: string): void {
    if (this.o.proxyProtocol || this.o.warnAfter <= 0) return;
    if (ip === this.last) {
      this.run++;
    } else {
      this.last = ip;
      this.run = 1;
      this.cleared = false;
      if (this.suspect) {
        this.log.info({ client: ip, gateway: this.suspect }, 'clients no longer all come from one address');
        this.suspect = null;
      }
    }
    if (this.suspect || this.cleared || this.run < this.o.warnAfter) return;
    if (!inCidrs(ip, this.o.networks)) {
      this.cleared = true;
      return;
    }
    this.suspect = ip;
    this.log.warn(
      { gateway: ip, connections: this.run },
      `WARNING: the last ${this.run} SMTP clients all came from ${ip}, a private address, without PROXY ` +
        'protocol: the clients are probably behind NAT (Docker userland proxy, Kubernetes SNAT, a load ' +
        'balancer). IP-based checks (reverse DNS, DNSBL, greylisting, rate limits) then judge the gateway, ' +
        'and trusting its network would make an open relay. Publish the port without NAT, or turn on ' +
        'POSTAMT_PROXY_PROTOCOL behind a balancer that sends it.',
    );
  }

  /** The /readyz detail: null when fine. */
  warning(): string | null {
    if (!this.suspect) return null;
    return `the last ${this.run} clients all came from ${this.suspect} (private, no PROXY protocol): behind NAT?`;
  }
}
