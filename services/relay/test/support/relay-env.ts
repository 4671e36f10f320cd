// The world every relay integration test starts from: real Redis, the test DNS
// server, a spool the way the filter leaves it, a producer connection with the
// queues, and one port on which all test MX servers (on 127.0.x.y) listen and
// which the relay uses as its MX port. The relay itself is started last, once
// the test has put up its MX servers and DNS records.
import { connectRedis, Queues, type Redis, Spool } from '@postamt/queue';
import {
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  startDnsServer,
  startRedis,
  startService,
  type TestDnsServer,
} from '@postamt/testkit';

export interface RelayEnv {
  redis: RedisServer;
  dns: TestDnsServer;
  dataDir: string;
  spool: Spool;
  producer: Redis;
  queues: Queues;
  /** The port of every test MX server. */
  port: number;
  /** Publishes `domain` with one MX host, `mx.<domain>`, at `ip`; `secure` marks both DNSSEC-signed. */
  mx(domain: string, ip: string, opts?: { secure?: boolean }): void;
  /** Starts the relay with the settings every test shares, plus `env`. */
  startRelay(env?: Record<string, string>): Promise<ServiceProcess>;
  /** Stops the relay and everything above (the test closes its own MX servers). */
  stop(): Promise<void>;
}

export async function startRelayEnv(name: string): Promise<RelayEnv> {
  const redis = await startRedis();
  const dns = await startDnsServer();
  const dataDir = makeTempDir(name);
  const spool = new Spool(dataDir);
  await spool.init();
  const producer = connectRedis(redis.url, 'producer');
  const queues = new Queues(producer);
  const port = await freePort();
  let relay: ServiceProcess | undefined;
  return {
    redis,
    dns,
    dataDir,
    spool,
    producer,
    queues,
    port,
    mx(domain, ip, opts = {}) {
      dns.set(domain, [{ type: 'MX', exchange: `mx.${domain}`, priority: 10 }]);
      dns.host4(`mx.${domain}`, ip);
      if (opts.secure) {
        dns.secure(domain);
        dns.secure(`mx.${domain}`);
      }
    },
    async startRelay(env = {}) {
      relay = await startService('relay', {
        POSTAMT_DATA: dataDir,
        POSTAMT_REDIS_URL: redis.url,
        POSTAMT_DNS_SERVERS: dns.address,
        POSTAMT_HOSTNAME: 'relay.postamt.test',
        POSTAMT_RELAY_SMTP_PORT: String(port),
        // The SSRF guard opened for loopback only: other private ranges stay refused.
        POSTAMT_RELAY_TEST_ALLOW_NETWORKS: '127.0.0.0/8',
        ...env,
      });
      return relay;
    },
    async stop() {
      await relay?.stop();
      await queues.close();
      producer.disconnect();
      await dns.stop();
      await redis.stop();
    },
  };
}
