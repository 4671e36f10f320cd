// The built `postamt` CLI driving a running admin service (dist/main.js as a
// real process), and in --redis mode straight against Redis.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  startRedis,
  startService,
} from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const TOKEN = 'bootstrap-token-for-the-cli-tests-0123456789';
let redis: RedisServer;
let admin: ServiceProcess;
let baseEnv: Record<string, string>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

function postamt(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...baseEnv, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => {
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = null;
      }
      res({ code: code ?? -1, stdout, stderr, json });
    });
    child.stdin.end(opts.input ?? '');
  });
}

beforeAll(async () => {
  redis = await startRedis();
  const data = makeTempDir('admin-cli');
  const port = await freePort();
  admin = await startService('admin', {
    POSTAMT_REDIS_URL: redis.url,
    POSTAMT_DATA: data,
    POSTAMT_HOSTNAME: 'mail.example.test',
    POSTAMT_ADMIN_PORT: String(port),
    POSTAMT_ADMIN_TOKEN: TOKEN,
  });
  baseEnv = {
    POSTAMT_ADMIN_URL: `http://127.0.0.1:${port}`,
    POSTAMT_ADMIN_TOKEN: TOKEN,
    POSTAMT_REDIS_URL: redis.url,
    POSTAMT_DATA: data,
    POSTAMT_HOSTNAME: 'mail.example.test',
    HOME: makeTempDir('home'),
  };
});
afterAll(async () => {
  await admin?.stop();
  await redis?.stop();
});

describe('postamt CLI against the admin API', () => {
  it('manages domains', async () => {
    expect((await postamt(['domain', 'add', 'example.org'])).code).toBe(0);
    const list = await postamt(['domain', 'list']);
    expect(list.stdout).toMatch(/NAME\s+USERS\s+ALIASES\s+CATCHALL\nexample\.org\s+0\s+0\s+-/);
    const j = await postamt(['domain', 'list', '--json']);
    expect(j.json.domains[0].name).toBe('example.org');
    const dup = await postamt(['domain', 'add', 'example.org']);
    expect(dup.code).toBe(5);
    expect(dup.stderr).toContain('exists');
    const bad = await postamt(['domain', 'add', 'not a domain', '--json']);
    expect(bad.code).toBe(6);
    expect(bad.json.error).toContain('name');
  });

  it('manages users with the password from standard input', async () => {
    const add = await postamt(['user', 'add', 'alice@example.org', '--quota', '2GB'], {
      input: 'a long password\n',
    });
    expect(add.code, add.stderr).toBe(0);
    const list = await postamt(['user', 'list', 'example.org']);
    expect(list.stdout).toMatch(/alice@example\.org\s+2GB\s+true/);
    expect(
      (
        await postamt(['user', 'passwd', 'alice@example.org', '--password-stdin'], {
          input: 'another password\n',
        })
      ).code,
    ).toBe(0);
    expect((await postamt(['user', 'quota', 'alice@example.org', '0'])).code).toBe(0);
    expect((await postamt(['user', 'disable', 'alice@example.org'])).code).toBe(0);
    const show = await postamt(['user', 'show', 'alice@example.org', '--json']);
    expect(show.json).toMatchObject({ quota: 0, enabled: false });
    const short = await postamt(['user', 'add', 'bob@example.org'], { input: 'short\n' });
    expect(short.code).toBe(6);
    expect(short.stderr).toContain('password');
    const gone = await postamt(['user', 'show', 'nobody@example.org']);
    expect(gone.code).toBe(3);
  });

  it('manages aliases, DKIM and allowlists', async () => {
    expect(
      (await postamt(['alias', 'add', 'info@example.org', 'alice@example.org', 'x@remote.test'])).code,
    ).toBe(0);
    expect((await postamt(['alias', 'list', 'example.org'])).stdout).toContain(
      'alice@example.org,x@remote.test',
    );
    expect((await postamt(['alias', 'remove', 'info@example.org'])).code).toBe(0);
    const dkim = await postamt([
      'dkim',
      'generate',
      'example.org',
      '--algorithm',
      'ed25519',
      '--selector',
      's1',
    ]);
    expect(dkim.code, dkim.stderr).toBe(0);
    expect(dkim.stdout).toMatch(/s1\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=ed25519; p=/);
    const show = await postamt(['dkim', 'show', 'example.org', '--json']);
    expect(show.json.current.selector).toBe('s1');
    expect((await postamt(['allowlist', 'add', 'greylist', '192.0.2.0/24'])).code).toBe(0);
    expect((await postamt(['allowlist', 'list'])).stdout).toContain('greylist: 192.0.2.0/24');
    expect((await postamt(['allowlist', 'remove', 'greylist', '192.0.2.0/24'])).code).toBe(0);
  });

  it('lists and flushes queues and the quarantine', async () => {
    const counts = await postamt(['queue', 'list']);
    expect(counts.stdout).toMatch(/QUEUE\s+WAITING\s+ACTIVE\s+DELAYED\s+FAILED\nfilter\s+0/);
    expect((await postamt(['queue', 'list', 'relay', '--json'])).json).toEqual({ jobs: [] });
    const flush = await postamt(['queue', 'flush', 'example.net']);
    expect(flush.stdout).toContain('flushed: 0 deferred');
    expect((await postamt(['queue', 'delete', 'relay', 'nope'])).code).toBe(3);
    expect((await postamt(['quarantine', 'list'])).stdout).toBe('(none)\n');
    expect((await postamt(['quarantine', 'release', '01J00000000000000000000000'])).code).toBe(3);
  });

  it('exits 4 with a read-only or wrong token, 7 when unreachable, 2 on usage errors', async () => {
    const t = await postamt(['token', 'create', 'viewer', 'read', '--json']);
    expect(t.code).toBe(0);
    const ro = await postamt(['domain', 'add', 'x.example'], { env: { POSTAMT_ADMIN_TOKEN: t.json.token } });
    expect(ro.code).toBe(4);
    expect(ro.stderr).toContain('write scope');
    expect((await postamt(['domain', 'list'], { env: { POSTAMT_ADMIN_TOKEN: t.json.token } })).code).toBe(0);
    expect((await postamt(['domain', 'list', '--token', 'pa_wrong'])).code).toBe(4);
    const down = await postamt(['domain', 'list', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(7);
    expect(down.stderr).toContain('cannot reach the admin API');
    expect((await postamt(['frobnicate'])).code).toBe(2);
    expect((await postamt(['domain', 'add'])).code).toBe(2);
    expect((await postamt(['domain', 'list'], { env: { POSTAMT_ADMIN_TOKEN: '' } })).code).toBe(2);
  });

  it('prints help and completion scripts', async () => {
    const h = await postamt(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('postamt user add <address>');
    const bash = await postamt(['completion', 'bash']);
    expect(bash.stdout).toContain('complete -F _postamt postamt');
    expect(bash.stdout).toMatch(/user\) COMPREPLY=\(\$\(compgen -W "add list show passwd/);
    expect((await postamt(['completion', 'zsh'])).stdout).toContain('#compdef postamt');
  });
});

describe('postamt --redis (next to Redis, no API)', () => {
  it('works without a token and is audit-logged as the local user', async () => {
    const add = await postamt(['--redis', 'domain', 'add', 'direct.example'], {
      env: { POSTAMT_ADMIN_TOKEN: '' },
    });
    expect(add.code, add.stderr).toBe(0);
    const list = await postamt(['domain', 'list', '--json']);
    expect(list.json.domains.map((d: { name: string }) => d.name)).toContain('direct.example');
    const audit = await postamt(['token', 'list', '--json']);
    expect(audit.code).toBe(0);
    const res = await fetch(`${baseEnv.POSTAMT_ADMIN_URL}/api/v1/audit`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const entries = ((await res.json()) as { entries: { actor: string; target: string }[] }).entries;
    expect(entries.find((e) => e.target === 'direct.example')?.actor).toMatch(/^cli:/);
  });

  it('reports an unreachable Redis with exit code 7', async () => {
    const r = await postamt(['--redis', `redis://127.0.0.1:${await freePort()}`, 'domain', 'list'], {
      env: { POSTAMT_ADMIN_TOKEN: '' },
    });
    expect(r.code).toBe(7);
  }, 30_000);
});

describe('postamt config check', () => {
  it('passes for a good environment and names bad variables', async () => {
    const ok = await postamt(['config', 'check', '--json']);
    expect(ok.json, ok.stderr).toMatchObject({ ok: true, checks: { config: 'ok', redis: 'ok', data: 'ok' } });
    const bad = await postamt(['config', 'check'], {
      env: { POSTAMT_ADMIN_PORT: 'eighty', POSTAMT_DATA: join(makeTempDir('x'), 'missing') },
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('POSTAMT_ADMIN_PORT');
  });
});
