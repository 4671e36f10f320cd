// The inbound checks of issue 4 against the real intake process, a real Redis
// and the test DNS server: for each check its pass, fail and DNS-timeout paths,
// and what each configured action (reject, defer, warn, off) makes of a failure.
import { reverseName, sleep, startDnsServer, type TestDnsServer } from '@postamt/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Env, type Intake, startEnv, startIntake, storedMessage, transact } from './helpers.js';

let env: Env;
let dns: TestDnsServer;

/** A legitimate world: FCrDNS for 127.0.0.1, a sender domain with MX and SPF. */
function legitimateDns(): void {
  dns.clear();
  dns.host4('client.example.org', '127.0.0.1');
  dns.set('example.org', [
    { type: 'MX', exchange: 'mx.example.org', priority: 10 },
    { type: 'TXT', text: 'v=spf1 ip4:127.0.0.0/8 -all' },
  ]);
  dns.set('mx.example.org', [{ type: 'A', address: '192.0.2.25' }]);
}

beforeAll(async () => {
  env = await startEnv();
  dns = await startDnsServer({ ttl: 0 });
});

afterAll(async () => {
  env.redis.disconnect();
  await env.redisServer.stop();
  await dns.stop();
});

beforeEach(() => legitimateDns());

describe('checks with their default actions (greylisting off)', () => {
  let intake: Intake;
  beforeAll(async () => {
    intake = await startIntake(env, {
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_CHECK_SPF: 'reject',
      POSTAMT_DNSBL_SITES: 'bl.test.example=127.0.0.[2..11]*2,weak.test.example*1,wl.test.example*-5',
      POSTAMT_DNSBL_THRESHOLD: '2',
    });
  });
  afterAll(() => intake.proc.stop());

  it('accepts a legitimate client and records PTR and SPF in the message', async () => {
    const t = await transact(intake.port, {});
    expect(t.data).toMatch(/^250 /);
    const stored = await storedMessage(intake.data, t.id as string);
    expect(stored).toMatch(/^Received: from client\.example\.org \(client\.example\.org \[127\.0\.0\.1\]\)/);
    expect(stored).toMatch(
      /Authentication-Results: mx\.postamt\.test;\r\n\tspf=pass .*smtp\.mailfrom=bob@example\.org/,
    );
  });

  describe('helo', () => {
    it('refuses a HELO that is not an FQDN', async () => {
      expect((await transact(intake.port, { helo: 'localhost' })).mail).toMatch(/^504 5\.5\.2 .*\(helo\)/);
    });
    it('refuses a HELO that claims to be us or one of our domains', async () => {
      expect((await transact(intake.port, { helo: 'mx.postamt.test' })).mail).toMatch(
        /^550 5\.7\.1 .*not me/,
      );
      expect((await transact(intake.port, { helo: 'EXAMPLE.test' })).mail).toMatch(/^550 5\.7\.1 .*not me/);
    });
    it('accepts the client’s own address literal but not another one', async () => {
      // An address literal is not looked up (helo_dns) and not judged by FQDN syntax.
      expect((await transact(intake.port, { helo: '[127.0.0.1]' })).data).toMatch(/^250 /);
      expect((await transact(intake.port, { helo: '[192.0.2.1]' })).mail).toMatch(/^550 5\.7\.1 .*literal/);
    });
  });

  describe('helo_dns', () => {
    it('refuses an EHLO name that does not resolve, defers when DNS times out', async () => {
      expect((await transact(intake.port, { helo: 'ghost.example.org' })).mail).toMatch(
        /^550 5\.7\.1 .*\(helo_dns\)/,
      );
      dns.timeout('slow.example.org');
      expect((await transact(intake.port, { helo: 'slow.example.org' })).mail).toMatch(
        /^451 4\.4\.3 .*\(helo_dns\)/,
      );
    });
    it('accepts an EHLO name that has only an MX', async () => {
      dns.set('mxonly.example.org', [{ type: 'MX', exchange: 'mx.example.org', priority: 1 }]);
      expect((await transact(intake.port, { helo: 'mxonly.example.org' })).data).toMatch(/^250 /);
    });
  });

  describe('fcrdns', () => {
    it('refuses a client without PTR', async () => {
      dns.remove(reverseName('127.0.0.1'));
      expect((await transact(intake.port, {})).mail).toMatch(/^550 5\.7\.25 .*\(fcrdns\)/);
    });
    it('refuses a client whose PTR name does not resolve back to it', async () => {
      dns.set(reverseName('127.0.0.1'), [{ type: 'PTR', name: 'liar.example.org' }]);
      dns.set('liar.example.org', [{ type: 'A', address: '192.0.2.66' }]);
      expect((await transact(intake.port, { helo: 'client.example.org' })).mail).toMatch(
        /^550 5\.7\.25 .*does not match/,
      );
    });
    it('defers, never rejects, when the PTR lookup times out', async () => {
      dns.timeout(reverseName('127.0.0.1'));
      expect((await transact(intake.port, {})).mail).toMatch(/^451 4\.4\.3 .*\(fcrdns\)/);
    });
  });

  describe('sender and sender_domain', () => {
    it('refuses a sender that is not fully qualified', async () => {
      expect((await transact(intake.port, { from: 'bob@localhost' })).mail).toMatch(
        /^504 5\.5\.2 .*\(sender\)/,
      );
    });
    it('accepts the null sender', async () => {
      expect((await transact(intake.port, { from: '' })).data).toMatch(/^250 /);
    });
    it('refuses a sender domain without MX or A, and one with a null MX', async () => {
      expect((await transact(intake.port, { from: 'x@nowhere.example.org' })).mail).toMatch(
        /^550 5\.1\.8 .*\(sender_domain\)/,
      );
      dns.set('nullmx.example.org', [{ type: 'MX', exchange: '.', priority: 0 }]);
      expect((await transact(intake.port, { from: 'x@nullmx.example.org' })).mail).toMatch(/^550 5\.7\.27 /);
    });
    it('accepts a sender domain with only an A record (implicit MX)', async () => {
      dns.set('aonly.example.org', [{ type: 'A', address: '192.0.2.7' }]);
      expect((await transact(intake.port, { from: 'x@aonly.example.org' })).data).toMatch(/^250 /);
    });
    it('defers when the sender domain lookup times out', async () => {
      dns.timeout('slow.example.net');
      expect((await transact(intake.port, { from: 'x@slow.example.net' })).mail).toMatch(/^451 4\.4\.3 /);
    });
  });

  describe('recipient', () => {
    it('refuses a recipient that is not fully qualified', async () => {
      expect((await transact(intake.port, { to: 'alice@example' })).rcpt).toMatch(
        /^504 5\.5\.2 .*\(recipient\)/,
      );
    });
  });

  describe('dnsbl', () => {
    const bl = (zone: string) => `${reverseName('127.0.0.1').replace('.in-addr.arpa', '')}.${zone}`;
    it('refuses a listed client at the greeting, naming the list', async () => {
      dns.set(bl('bl.test.example'), [{ type: 'A', address: '127.0.0.4' }]);
      const t = await transact(intake.port, {});
      expect(t.greeting).toMatch(/^554 5\.7\.1 .*blocked using bl\.test\.example/);
    });
    it('ignores answers outside the filter and scores below the threshold', async () => {
      dns.set(bl('bl.test.example'), [{ type: 'A', address: '127.0.0.99' }]);
      dns.set(bl('weak.test.example'), [{ type: 'A', address: '127.0.0.2' }]);
      expect((await transact(intake.port, {})).data).toMatch(/^250 /);
    });
    it('defers at MAIL FROM when a list that could tip the score times out', async () => {
      dns.timeout(bl('bl.test.example'));
      expect((await transact(intake.port, {})).mail).toMatch(/^451 4\.4\.3 .*\(dnsbl\)/);
    });
    it('lets an allowlisted client skip the reverse DNS check', async () => {
      dns.remove(reverseName('127.0.0.1'));
      dns.set(bl('wl.test.example'), [{ type: 'A', address: '127.0.10.2' }]);
      expect((await transact(intake.port, {})).data).toMatch(/^250 /);
    });
  });

  describe('spf (action reject)', () => {
    it('refuses an SPF fail', async () => {
      dns.set('example.org', [
        { type: 'MX', exchange: 'mx.example.org', priority: 10 },
        { type: 'TXT', text: 'v=spf1 ip4:192.0.2.0/24 -all' },
      ]);
      expect((await transact(intake.port, {})).mail).toMatch(/^550 5\.7\.23 .*\(spf\)/);
    });
    it('defers on an SPF temperror (DNS timeout of an include)', async () => {
      dns.set('example.org', [
        { type: 'MX', exchange: 'mx.example.org', priority: 10 },
        { type: 'TXT', text: 'v=spf1 include:spf.slow.example -all' },
      ]);
      dns.timeout('spf.slow.example');
      expect((await transact(intake.port, {})).mail).toMatch(/^451 4\.4\.3 .*\(spf\)/);
    });
  });

  it('counts every decision per check and action', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${intake.proc.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /postamt_intake_policy_decisions_total\{check="fcrdns",action="reject"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/postamt_intake_policy_decisions_total\{check="helo",action="pass"[^}]*\} [1-9]/);
    expect(intake.proc.log()).toMatch(/"check":"fcrdns","action":"reject".*no PTR for 127\.0\.0\.1/);
  });
});

describe('other actions: warn, defer, off, trusted networks', () => {
  let intake: Intake;
  beforeAll(async () => {
    intake = await startIntake(env, {
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_CHECK_FCRDNS: 'warn',
      POSTAMT_CHECK_HELO_DNS: 'defer',
      POSTAMT_CHECK_SENDER_DOMAIN: 'off',
    });
  });
  afterAll(() => intake.proc.stop());

  it('warn: accepts, records the check and the SPF fail in headers', async () => {
    dns.remove(reverseName('127.0.0.1'));
    dns.set('example.org', [{ type: 'TXT', text: 'v=spf1 -all' }]);
    const t = await transact(intake.port, {});
    expect(t.data).toMatch(/^250 /);
    const stored = await storedMessage(intake.data, t.id as string);
    expect(stored).toMatch(/\(unknown \[127\.0\.0\.1\]\)/);
    expect(stored).toMatch(/X-Postamt-Policy: fcrdns=warn spf=warn/);
    expect(stored).toMatch(/spf=fail/);
  });
  it('defer: a failure becomes 450 with the same enhanced code class', async () => {
    expect((await transact(intake.port, { helo: 'ghost.example.org' })).mail).toMatch(
      /^450 4\.7\.1 .*\(helo_dns\)/,
    );
  });
  it('off: the check is not run', async () => {
    expect((await transact(intake.port, { from: 'x@nowhere.example.org' })).data).toMatch(/^250 /);
  });
  it('trusted networks skip the DNS-based checks only when configured, never the syntax ones', async () => {
    const trusted = await startIntake(env, {
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_MYNETWORKS: '127.0.0.0/8',
    });
    try {
      dns.clear();
      // No PTR, no sender domain in DNS: fine for a trusted client ...
      const t = await transact(trusted.port, { helo: 'client.example.org', from: 'x@nowhere.example.org' });
      expect(t.data).toMatch(/^250 /);
      // ... but a HELO that is not a FQDN is still refused.
      expect((await transact(trusted.port, { helo: 'localhost' })).mail).toMatch(/^5\d\d /);
      // ... but trust is not a licence to relay from the MX listener.
      expect((await transact(trusted.port, { to: 'someone@elsewhere.example' })).rcpt).toMatch(
        /^554 5\.7\.1 /,
      );
    } finally {
      await trusted.proc.stop();
    }
  });
});

describe('greylisting', () => {
  let intake: Intake;
  beforeAll(async () => {
    intake = await startIntake(env, {
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_GREYLIST_DELAY: '1s',
      POSTAMT_GREYLIST_ALLOW_DOMAINS: 'friendly.example',
    });
  });
  afterAll(() => intake.proc.stop());

  it('defers a new triplet with 451 4.7.1, also on an early retry, and passes after the delay', async () => {
    const first = await transact(intake.port, { from: 'grey@example.org' });
    expect(first.rcpt).toMatch(/^451 4\.7\.1 .*\(greylist\)/);
    expect((await transact(intake.port, { from: 'grey@example.org' })).rcpt).toMatch(/^451 4\.7\.1 /);
    await sleep(1100);
    expect((await transact(intake.port, { from: 'grey@example.org' })).data).toMatch(/^250 /);
    // Remembered: no delay for the next message of the same triplet.
    expect((await transact(intake.port, { from: 'grey@example.org' })).data).toMatch(/^250 /);
    // Another recipient is another triplet.
    expect(
      (await transact(intake.port, { from: 'grey@example.org', to: 'carol@example.test' })).rcpt,
    ).toMatch(/^451 4\.7\.1 /);
  });
  it('does not greylist unknown users (550 first) or allowlisted domains', async () => {
    expect(
      (await transact(intake.port, { from: 'grey2@example.org', to: 'nobody@example.test' })).rcpt,
    ).toMatch(/^550 5\.1\.1 /);
    dns.set('friendly.example', [{ type: 'A', address: '192.0.2.9' }]);
    expect((await transact(intake.port, { from: 'x@friendly.example' })).data).toMatch(/^250 /);
  });
  it('honours the allowlist operators edit at run time through the admin API (Redis)', async () => {
    dns.set('partner.example', [{ type: 'A', address: '192.0.2.10' }]);
    expect((await transact(intake.port, { from: 'x@partner.example' })).rcpt).toMatch(/^451 4\.7\.1 /);
    await env.redis.sadd('postamt:policy:greylist:allow', 'partner.example');
    await sleep(5100); // the list is re-read at most every 5 s
    expect((await transact(intake.port, { from: 'y@partner.example' })).data).toMatch(/^250 /);
  });
  it('defers, never accepts, when Redis is down', async () => {
    await env.redisServer.kill();
    try {
      // Whichever stage needs Redis first (our-domain lookup, directory, greylist) answers 451.
      const t = await transact(intake.port, { from: 'grey3@example.org' });
      expect(t.data).toBeUndefined();
      expect(t.mail?.startsWith('250') ? t.rcpt : t.mail).toMatch(/^451 4\./);
    } finally {
      await env.redisServer.restart();
    }
  });
});
