import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  commonShape,
  envName,
  loadConfig,
  markSecret,
  parseByteSize,
  parseDuration,
  parseHostPort,
  parseTransport,
  plaintextPolicy,
  withCommonRules,
} from '../src/index.js';

const schema = withCommonRules(
  z.object({ ...commonShape, smtpPort: z.coerce.number().int().min(0).max(65535).default(25) }),
);

describe('field parsers', () => {
  it('parses host:port forms', () => {
    expect(parseHostPort('127.0.0.1:3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseHostPort('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseHostPort('clamd:3310')).toEqual({ host: 'clamd', port: 3310 });
    expect(parseHostPort('clamd')).toBeNull();
    expect(parseHostPort('clamd:70000')).toBeNull();
  });
  it('parses durations into milliseconds', () => {
    expect(parseDuration('300s')).toBe(300_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('35d')).toBe(35 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('12')).toBe(12_000);
    expect(parseDuration('soon')).toBeNull();
  });
  it('parses sizes with binary units', () => {
    expect(parseByteSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('25M')).toBe(25 * 1024 ** 2);
    expect(parseByteSize('100')).toBe(100);
    expect(parseByteSize('lots')).toBeNull();
  });
  it('reads the plaintext login policy', () => {
    expect(plaintextPolicy.parse('Loopback')).toBe('loopback');
    expect(plaintextPolicy.parse('yes')).toBe('always');
    expect(plaintextPolicy.parse('0')).toBe('never');
    expect(plaintextPolicy.safeParse('sometimes').success).toBe(false);
  });
  it('parses transports like Postfix', () => {
    expect(parseTransport('[10.0.0.5]:25')).toEqual({ host: '10.0.0.5', port: 25, literal: true });
    expect(parseTransport('smarthost.example:587')).toEqual({
      host: 'smarthost.example',
      port: 587,
      literal: false,
    });
    expect(parseTransport('[mx.example]')).toEqual({ host: 'mx.example', port: 25, literal: true });
  });
});

describe('loadConfig', () => {
  it('maps keys to POSTAMT_ names', () => {
    expect(envName('redisUrl')).toBe('POSTAMT_REDIS_URL');
    expect(envName('dnsServers')).toBe('POSTAMT_DNS_SERVERS');
    expect(envName('tlsCert')).toBe('POSTAMT_TLS_CERT');
  });

  it('reads the documented variables', () => {
    const c = loadConfig(schema, {
      service: 'test',
      env: {
        POSTAMT_DATA: '/srv/postamt',
        POSTAMT_HOSTNAME: 'mx.example.org',
        POSTAMT_REDIS_URL: 'redis://redis:6379',
        POSTAMT_CLAMD: 'clamd:3310',
        POSTAMT_SPAMD: '10.0.0.2:783',
        POSTAMT_DNS_SERVERS: '127.0.0.1:5353, 127.0.0.2:53',
        POSTAMT_SEED: '/etc/postamt/seed.yaml',
        POSTAMT_RELAY_TRANSPORTS: 'example.net=[10.0.0.5]:25,*=[smarthost.example]:587',
        POSTAMT_TLS_CERT: '/c.pem',
        POSTAMT_TLS_KEY: '/k.pem',
        POSTAMT_GREYLIST_DELAY: '5m',
        POSTAMT_SMTP_PORT: '2525',
        POSTAMT_STOP_TIMEOUT: '10m',
      },
    });
    expect(c.data).toBe('/srv/postamt');
    expect(c.hostname).toBe('mx.example.org');
    expect(c.clamd).toEqual({ host: 'clamd', port: 3310 });
    expect(c.spamd).toEqual({ host: '10.0.0.2', port: 783 });
    expect(c.dnsServers).toEqual([
      { host: '127.0.0.1', port: 5353 },
      { host: '127.0.0.2', port: 53 },
    ]);
    expect(c.relayTransports).toEqual({
      'example.net': { host: '10.0.0.5', port: 25, literal: true },
      '*': { host: 'smarthost.example', port: 587, literal: true },
    });
    expect(c.greylistDelay).toBe(300_000);
    expect(c.smtpPort).toBe(2525);
    expect(c.stopTimeout).toBe(600_000);
  });

  it('applies defaults', () => {
    const c = loadConfig(schema, { service: 'test', env: {} });
    expect(c.clamd).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(c.greylistDelay).toBe(300_000);
    expect(c.dnsServers).toEqual([]);
    expect(c.smtpPort).toBe(25);
    expect(c.stopTimeout).toBe(30_000);
  });

  it('reads a YAML file named by POSTAMT_CONFIG; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'postamt.yaml');
    writeFileSync(file, 'hostname: file.example.org\ngreylist_delay: 10s\nsmtp_port: 2600\n');
    const c = loadConfig(schema, {
      service: 'test',
      env: { POSTAMT_CONFIG: file, POSTAMT_SMTP_PORT: '2700' },
    });
    expect(c.hostname).toBe('file.example.org');
    expect(c.greylistDelay).toBe(10_000);
    expect(c.smtpPort).toBe(2700);
  });

  it('lists every bad key in one error, with what was given and expected', () => {
    let error: unknown;
    try {
      loadConfig(schema, {
        service: 'intake',
        env: {
          POSTAMT_CLAMD: 'nohostport',
          POSTAMT_GREYLIST_DELAY: 'soon',
          POSTAMT_SMTP_PORT: '99999',
          POSTAMT_TLS_CERT: '/c.pem',
        },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const msg = (error as ConfigError).message;
    expect(msg).toContain('invalid configuration for intake');
    expect(msg).toMatch(/POSTAMT_CLAMD: got "nohostport", expected host:port/);
    expect(msg).toMatch(/POSTAMT_GREYLIST_DELAY: got "soon", expected a duration/);
    expect(msg).toMatch(/POSTAMT_SMTP_PORT: got "99999"/);
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('refuses a stop timeout too short to finish anything', () => {
    expect(() => loadConfig(schema, { service: 'intake', env: { POSTAMT_STOP_TIMEOUT: '0' } })).toThrow(
      /POSTAMT_STOP_TIMEOUT: got "0", expected a duration of at least 1s/,
    );
  });

  it('checks settings that belong together', () => {
    expect(() => loadConfig(schema, { service: 'intake', env: { POSTAMT_TLS_CERT: '/c.pem' } })).toThrow(
      /POSTAMT_TLS_KEY: got nothing, expected both POSTAMT_TLS_CERT and POSTAMT_TLS_KEY, or neither/,
    );
  });

  it('never prints secret values', () => {
    markSecret('adminToken');
    const s = z.object({ adminToken: z.string().min(32, 'expected at least 32 characters') });
    expect(() => loadConfig(s, { service: 'admin', env: { POSTAMT_ADMIN_TOKEN: 'hunter2' } })).toThrow(
      /POSTAMT_ADMIN_TOKEN: got \(secret, not shown\)/,
    );
    try {
      loadConfig(s, { service: 'admin', env: { POSTAMT_ADMIN_TOKEN: 'hunter2' } });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('reports an unreadable config file', () => {
    expect(() =>
      loadConfig(schema, { service: 'test', env: { POSTAMT_CONFIG: '/nonexistent/postamt.yaml' } }),
    ).toThrow(/POSTAMT_CONFIG: got "\/nonexistent\/postamt.yaml" \(ENOENT\), expected a readable YAML file/);
  });
});
