// Per-domain overrides of check actions, keyed by the recipient domain. A check
// with an override is answered at RCPT TO (Postfix's smtpd_delay_reject), so
// one transaction can be refused for a strict domain and accepted for a
// lenient one. Real intake, real Redis, the test DNS server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { LineClient, makeTempDir, reverseName, startDnsServer, type TestDnsServer } from '@postamt/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadIntakeConfig } from '../src/config.js';
import { type Env, type Intake, startEnv, startIntake, storedMessage, transact } from './helpers.js';

let env: Env;
let dns: TestDnsServer;
const bl = `${reverseName('127.0.0.1').replace('.in-addr.arpa', '')}.bl.test.example`;

beforeAll(async () => {
  env = await startEnv();
  await new Directory(env.redis).addDomain('lenient.test');
  await new Directory(env.redis).putUser({ address: 'dave@lenient.test', password: 'secret' });
  await new Directory(env.redis).addDomain('grey.test');
  await new Directory(env.redis).putUser({ address: 'erin@grey.test', password: 'secret' });
  dns = await startDnsServer({ ttl: 0 });
});

afterAll(async () => {
  env.redis.disconnect();
  await env.redisServer.stop();
  await dns.stop();
});

beforeEach(() => {
  dns.clear();
  dns.host4('client.example.org', '127.0.0.1');
  dns.set('example.org', [{ type: 'MX', exchange: 'mx.example.org', priority: 10 }]);
});

describe('per-domain overrides (environment variable form)', () => {
  let intake: Intake;
  beforeAll(async () => {
    intake = await startIntake(env, {
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_CHECK_SPF: 'off',
      POSTAMT_CHECK_SENDER_DOMAIN: 'off',
      POSTAMT_DNSBL_SITES: 'bl.test.example',
      // Strict by default; lenient.test takes mail from hosts without reverse DNS
      // and from listed hosts; grey.test wants greylisting, off for everyone else.
      POSTAMT_CHECK_OVERRIDES: 'lenient.test:fcrdns=warn,dnsbl=off;grey.test:greylist=defer',
    });
  });
  afterAll(() => intake.proc.stop());

  it('answers a failed pre-RCPT check at RCPT TO, with each recipient domain’s action', async () => {
    dns.remove(reverseName('127.0.0.1'));
    const strict = await transact(intake.port, { to: 'alice@example.test' });
    expect(strict.mail).toMatch(/^250 /);
    expect(strict.rcpt).toMatch(/^550 5\.7\.25 .*\(fcrdns\)/);

    const lenient = await transact(intake.port, { to: 'dave@lenient.test' });
    expect(lenient.data).toMatch(/^250 /);
    expect(await storedMessage(intake.data, lenient.id as string)).toMatch(/X-Postamt-Policy: fcrdns=warn/);
  });

  it('refuses and accepts recipients of one transaction independently', async () => {
    dns.remove(reverseName('127.0.0.1'));
    const c = await LineClient.connect(intake.port);
    await c.expect(/^220 /);
    await c.command('EHLO client.example.org', /^250 /);
    await c.command('MAIL FROM:<bob@example.org>', /^250 /);
    expect(await c.command('RCPT TO:<alice@example.test>', /^\d{3} /)).toMatch(/^550 5\.7\.25 /);
    expect(await c.command('RCPT TO:<dave@lenient.test>', /^\d{3} /)).toMatch(/^250 /);
    await c.command('DATA', /^354 /);
    c.write('Subject: mixed\r\n\r\nx\r\n.\r\n');
    const id = /queued as ([0-9A-Z]{26})/.exec(await c.expect(/^250 /))?.[1] as string;
    c.close();
    const stored = await storedMessage(intake.data, id);
    expect(stored).toMatch(/for <dave@lenient\.test>/);
    expect(stored).not.toMatch(/alice@example\.test/);
  });

  it('delays a DNSBL refusal from the greeting to RCPT TO when the list has an override', async () => {
    dns.set(bl, [{ type: 'A', address: '127.0.0.2' }]);
    const strict = await transact(intake.port, { to: 'alice@example.test' });
    expect(strict.greeting).toMatch(/^220 /);
    expect(strict.rcpt).toMatch(/^554 5\.7\.1 .*bl\.test\.example/);
    expect((await transact(intake.port, { to: 'dave@lenient.test' })).data).toMatch(/^250 /);
  });

  it('turns on for one domain a check that is off for all others (greylisting)', async () => {
    expect((await transact(intake.port, { from: 'grey@example.org' })).data).toMatch(/^250 /);
    expect((await transact(intake.port, { from: 'grey@example.org', to: 'erin@grey.test' })).rcpt).toMatch(
      /^451 4\.7\.1 .*\(greylist\)/,
    );
  });

  it('keeps the early answer of checks without overrides', async () => {
    expect((await transact(intake.port, { helo: 'localhost', to: 'dave@lenient.test' })).mail).toMatch(
      /^504 5\.5\.2 .*\(helo\)/,
    );
  });
});

describe('per-domain overrides (YAML file form)', () => {
  it('reads check_overrides as a mapping from the POSTAMT_CONFIG file', async () => {
    const file = join(makeTempDir('intake-yaml'), 'intake.yaml');
    writeFileSync(
      file,
      [
        'check_greylist: off',
        'check_spf: off',
        'check_overrides:',
        '  lenient.test:',
        '    helo_dns: off',
        '  Example.Test:',
        '    helo_dns: defer',
        '',
      ].join('\n'),
    );
    const intake = await startIntake(env, { POSTAMT_DNS_SERVERS: dns.address, POSTAMT_CONFIG: file });
    try {
      expect((await transact(intake.port, { helo: 'ghost.example.org' })).rcpt).toMatch(
        /^450 4\.7\.1 .*\(helo_dns\)/,
      );
      expect(
        (await transact(intake.port, { helo: 'ghost.example.org', to: 'dave@lenient.test' })).data,
      ).toMatch(/^250 /);
    } finally {
      await intake.proc.stop();
    }
  });

  it('refuses unknown checks, actions and domains, naming the variable', () => {
    for (const bad of ['example.test:nosuch=reject', 'example.test:helo=maybe', 'nodots:helo=off', 'x']) {
      expect(() => loadIntakeConfig({ POSTAMT_CHECK_OVERRIDES: bad })).toThrow(
        /POSTAMT_CHECK_OVERRIDES: got .*expected domain:check=action/,
      );
    }
    expect(
      loadIntakeConfig({ POSTAMT_CHECK_OVERRIDES: 'A.test:helo=off,spf=reject; b.test:dnsbl=warn' })
        .checkOverrides,
    ).toEqual({ 'a.test': { helo: 'off', spf: 'reject' }, 'b.test': { dnsbl: 'warn' } });
  });
});
