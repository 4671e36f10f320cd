// The admin API against the real server and a real Redis: every route answers
// 401 without a token, 403 with a token of too small a scope, 400 naming the
// field for invalid input, and does its job for valid input.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userMaildir } from '@postamt/maildir';
import { Worker } from '@postamt/queue';
import { waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';
import { quarantineEntry, relayJob } from './fixtures.js';

let env: TestEnv;
const QID = '01J00000000000000000000000';
const TOKEN_ID = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  env = await startEnv();
  expect((await env.req('POST', '/api/v1/domains', { body: { name: 'example.test' } })).status).toBe(201);
  expect(
    (
      await env.req('POST', '/api/v1/users', {
        body: { address: 'alice@example.test', password: 'correct horse' },
      })
    ).status,
  ).toBe(201);
});
afterAll(() => env?.stop());

/** Every route: method, path and the scope it needs. */
const ROUTES: [string, string, 'read' | 'write' | 'admin', unknown?][] = [
  ['GET', '/api/v1/domains', 'read'],
  ['POST', '/api/v1/domains', 'write', { name: 'x.test' }],
  ['GET', '/api/v1/domains/example.test', 'read'],
  ['DELETE', '/api/v1/domains/example.test', 'write'],
  ['GET', '/api/v1/domains/example.test/catch-all', 'read'],
  ['PUT', '/api/v1/domains/example.test/catch-all', 'write', { targets: ['alice@example.test'] }],
  ['DELETE', '/api/v1/domains/example.test/catch-all', 'write'],
  ['GET', '/api/v1/domains/example.test/users', 'read'],
  ['POST', '/api/v1/users', 'write', { address: 'z@example.test', password: 'longenough' }],
  ['GET', '/api/v1/users/alice@example.test', 'read'],
  ['PUT', '/api/v1/users/alice@example.test/password', 'write', { password: 'longenough' }],
  ['PATCH', '/api/v1/users/alice@example.test', 'write', { enabled: false }],
  ['DELETE', '/api/v1/users/alice@example.test', 'write'],
  ['GET', '/api/v1/domains/example.test/aliases', 'read'],
  ['PUT', '/api/v1/aliases/info@example.test', 'write', { targets: ['alice@example.test'] }],
  ['GET', '/api/v1/aliases/info@example.test', 'read'],
  ['DELETE', '/api/v1/aliases/info@example.test', 'write'],
  ['GET', '/api/v1/domains/example.test/dkim', 'read'],
  ['POST', '/api/v1/domains/example.test/dkim', 'write', {}],
  ['POST', '/api/v1/domains/example.test/dkim/rotate', 'write', {}],
  ['DELETE', '/api/v1/domains/example.test/dkim/previous', 'write'],
  ['GET', '/api/v1/policy/allowlists', 'read'],
  ['GET', '/api/v1/policy/allowlists/greylist', 'read'],
  ['POST', '/api/v1/policy/allowlists/greylist', 'write', { entry: '192.0.2.0/24' }],
  ['DELETE', '/api/v1/policy/allowlists/greylist/example.org', 'write'],
  ['GET', '/api/v1/quarantine', 'read'],
  ['GET', `/api/v1/quarantine/${QID}`, 'read'],
  ['POST', `/api/v1/quarantine/${QID}/release`, 'write'],
  ['DELETE', `/api/v1/quarantine/${QID}`, 'write'],
  ['GET', '/api/v1/queues', 'read'],
  ['GET', '/api/v1/queues/relay/jobs', 'read'],
  ['GET', '/api/v1/queues/relay/jobs/x', 'read'],
  ['POST', '/api/v1/queues/relay/jobs/x/retry', 'write'],
  ['DELETE', '/api/v1/queues/relay/jobs/x', 'write'],
  ['DELETE', '/api/v1/queues/relay/jobs?domain=example.org', 'write'],
  ['POST', '/api/v1/queues/relay/flush', 'write', {}],
  ['POST', '/api/v1/learn', 'write', { user: 'alice@example.test', as: 'spam', file: 'mail/x' }],
  ['GET', '/api/v1/whoami', 'read'],
  ['GET', '/api/v1/tokens', 'admin'],
  ['POST', '/api/v1/tokens', 'admin', { name: 'x', scope: 'read' }],
  ['DELETE', `/api/v1/tokens/${TOKEN_ID}`, 'admin'],
  ['GET', '/api/v1/audit', 'admin'],
  ['GET', '/docs', 'read'],
  ['GET', '/docs/json', 'read'],
  ['GET', '/dashboard', 'read'],
];

describe('authentication', () => {
  it.each(ROUTES)('%s %s needs a token (401)', async (method, path, _scope, body) => {
    const r = await env.req(method, path, { token: false, body });
    expect(r.status).toBe(401);
    expect(r.body?.error).toBe('unauthorized');
  });

  it.each(ROUTES)('%s %s refuses a wrong token (401)', async (method, path, _scope, body) => {
    const r = await env.req(method, path, { token: 'pa_not-a-real-token', body });
    expect(r.status).toBe(401);
  });

  it.each(ROUTES.filter((r) => r[2] !== 'read'))(
    '%s %s refuses a token of a lower scope (403)',
    async (method, path, scope, body) => {
      const r = await env.req(method, path, {
        token: scope === 'admin' ? env.tokens.write : env.tokens.read,
        body,
      });
      expect(r.status).toBe(403);
      expect(r.body.message).toContain(scope);
    },
  );

  it('accepts HTTP Basic with the token as password, and asks browsers for it', async () => {
    const r = await env.req('GET', '/api/v1/whoami', {
      token: false,
      headers: { authorization: `Basic ${Buffer.from(`op:${env.tokens.read}`).toString('base64')}` },
    });
    expect(r.body).toEqual({ name: 'reader', scope: 'read' });
    const docs = await env.req('GET', '/docs', { token: false });
    expect(docs.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('bull-board actions need the write scope', async () => {
    const r = await env.req('PUT', '/dashboard/api/queues/relay/retry/failed', { token: env.tokens.read });
    expect(r.status).toBe(403);
  });
});

describe('invalid input → 400 naming the field', () => {
  const cases: [string, string, unknown, string][] = [
    ['POST', '/api/v1/domains', { name: 'not a domain' }, 'name'],
    ['POST', '/api/v1/domains', {}, 'name'],
    ['GET', '/api/v1/domains/bad_domain!', undefined, 'domain'],
    ['DELETE', '/api/v1/domains/example.test?purgeMail=maybe', undefined, 'purgeMail'],
    ['PUT', '/api/v1/domains/example.test/catch-all', { targets: ['nope'] }, 'targets.0'],
    ['PUT', '/api/v1/domains/example.test/catch-all', { targets: [] }, 'targets'],
    ['POST', '/api/v1/users', { address: 'no-at-sign', password: 'longenough' }, 'address'],
    ['POST', '/api/v1/users', { address: 'b@example.test', password: 'short' }, 'password'],
    ['POST', '/api/v1/users', { address: 'b@example.test' }, 'password'],
    ['POST', '/api/v1/users', { address: 'b@example.test', password: 'longenough', quota: 'lots' }, 'quota'],
    ['GET', '/api/v1/users/not-an-address', undefined, 'address'],
    ['PUT', '/api/v1/users/alice@example.test/password', { password: 1 }, 'password'],
    ['PATCH', '/api/v1/users/alice@example.test', { enabled: 'yes' }, 'enabled'],
    ['PATCH', '/api/v1/users/alice@example.test', {}, 'quota'],
    ['PUT', '/api/v1/aliases/info@example.test', { targets: ['x'] }, 'targets.0'],
    ['PUT', '/api/v1/aliases/bad', { targets: ['alice@example.test'] }, 'address'],
    ['POST', '/api/v1/domains/example.test/dkim', { algorithm: 'dsa' }, 'algorithm'],
    ['POST', '/api/v1/domains/example.test/dkim', { selector: 'a.b' }, 'selector'],
    ['POST', '/api/v1/policy/allowlists/greylist', { entry: '300.1.1.1/99' }, 'entry'],
    ['POST', '/api/v1/policy/allowlists/spamlist', { entry: '192.0.2.1' }, 'list'],
    ['GET', '/api/v1/quarantine/not-an-id', undefined, 'id'],
    ['GET', '/api/v1/quarantine?limit=0', undefined, 'limit'],
    ['GET', '/api/v1/queues/mailq/jobs', undefined, 'queue'],
    ['GET', '/api/v1/queues/relay/jobs?state=sleeping', undefined, 'state.0'],
    ['DELETE', '/api/v1/queues/relay/jobs', undefined, 'domain'],
    ['POST', '/api/v1/queues/relay/flush', { domain: 'x' }, 'domain'],
    ['POST', '/api/v1/learn', { user: 'alice@example.test', as: 'spam', file: '../etc/passwd' }, 'file'],
    ['POST', '/api/v1/learn', { user: 'alice@example.test', as: 'maybe', file: 'mail/x' }, 'as'],
    ['POST', '/api/v1/tokens', { name: 'x', scope: 'root' }, 'scope'],
    ['DELETE', '/api/v1/tokens/123', undefined, 'id'],
    ['GET', '/api/v1/audit?limit=-1', undefined, 'limit'],
  ];
  it.each(cases)('%s %s %j → %s', async (method, path, body, field) => {
    const r = await env.req(method, path, { body });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('invalid-request');
    expect(r.body.fields.map((f: { field: string }) => f.field)).toContain(field);
    expect(r.body.message).toContain(field);
  });

  it('malformed JSON is a generic 400', async () => {
    const r = await env.req('POST', '/api/v1/domains', {
      raw: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('malformed request');
  });
});

describe('domains, users, aliases, catch-all', () => {
  it('adds, lists, refuses duplicates and removes domains', async () => {
    expect(
      (await env.req('POST', '/api/v1/domains', { body: { name: 'Other.TEST' }, token: env.tokens.write }))
        .body.name,
    ).toBe('other.test');
    expect((await env.req('POST', '/api/v1/domains', { body: { name: 'other.test' } })).status).toBe(409);
    const list = await env.req('GET', '/api/v1/domains', { token: env.tokens.read });
    expect(list.body.domains.map((d: { name: string }) => d.name)).toEqual(['example.test', 'other.test']);
    expect((await env.req('DELETE', '/api/v1/domains/other.test')).status).toBe(200);
    expect((await env.req('GET', '/api/v1/domains/other.test')).status).toBe(404);
    expect((await env.req('DELETE', '/api/v1/domains/other.test')).status).toBe(404);
  });

  it('creates a user, sets password, quota, disables and deletes with mail', async () => {
    const c = await env.req('POST', '/api/v1/users', {
      body: { address: 'bob@example.test', password: 'first password', quota: '1GB' },
    });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({
      address: 'bob@example.test',
      domain: 'example.test',
      quota: 1024 ** 3,
      enabled: true,
    });
    expect(
      (
        await env.req('POST', '/api/v1/users', {
          body: { address: 'bob@example.test', password: 'xxxxxxxxxx' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await env.req('POST', '/api/v1/users', {
          body: { address: 'x@nowhere.test', password: 'xxxxxxxxxx' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await env.req('PUT', '/api/v1/users/bob@example.test/password', {
          body: { password: 'second password' },
        })
      ).status,
    ).toBe(200);
    expect(await env.ctx.directory.authenticate('bob@example.test', 'second password')).not.toBeNull();
    const p = await env.req('PATCH', '/api/v1/users/bob@example.test', {
      body: { quota: 0, enabled: false },
    });
    expect(p.body).toMatchObject({ quota: 0, enabled: false });
    expect(await env.ctx.directory.authenticate('bob@example.test', 'second password')).toBeNull();
    const users = await env.req('GET', '/api/v1/domains/example.test/users');
    expect(users.body.users.map((u: { address: string }) => u.address)).toContain('bob@example.test');

    const maildir = userMaildir(env.dataDir, 'bob@example.test');
    mkdirSync(join(maildir, 'new'), { recursive: true });
    writeFileSync(join(maildir, 'new', '1.msg'), 'x');
    expect((await env.req('DELETE', '/api/v1/users/bob@example.test?deleteMail=true')).status).toBe(200);
    expect(existsSync(maildir)).toBe(false);
    expect((await env.req('GET', '/api/v1/users/bob@example.test')).status).toBe(404);
  });

  it('deleting a user without deleteMail keeps the Maildir', async () => {
    await env.req('POST', '/api/v1/users', {
      body: { address: 'carol@example.test', password: 'xxxxxxxxxx' },
    });
    const maildir = userMaildir(env.dataDir, 'carol@example.test');
    mkdirSync(join(maildir, 'new'), { recursive: true });
    expect((await env.req('DELETE', '/api/v1/users/carol@example.test')).status).toBe(200);
    expect(existsSync(maildir)).toBe(true);
  });

  it('manages aliases and the catch-all', async () => {
    const a = await env.req('PUT', '/api/v1/aliases/Info@example.test', {
      body: { targets: ['alice@example.test', 'x@remote.test'] },
    });
    expect(a.body).toEqual({
      address: 'info@example.test',
      targets: ['alice@example.test', 'x@remote.test'],
    });
    expect((await env.req('GET', '/api/v1/aliases/info@example.test')).body.targets).toHaveLength(2);
    expect((await env.req('GET', '/api/v1/domains/example.test/aliases')).body.aliases).toHaveLength(1);
    expect(
      (await env.req('PUT', '/api/v1/aliases/alice@example.test', { body: { targets: ['x@remote.test'] } }))
        .status,
    ).toBe(409);
    expect((await env.ctx.directory.resolve('info@example.test')).kind).toBe('alias');
    expect((await env.req('DELETE', '/api/v1/aliases/info@example.test')).status).toBe(200);
    expect((await env.req('GET', '/api/v1/aliases/info@example.test')).status).toBe(404);

    expect(
      (
        await env.req('PUT', '/api/v1/domains/example.test/catch-all', {
          body: { targets: ['alice@example.test'] },
        })
      ).status,
    ).toBe(200);
    expect((await env.req('GET', '/api/v1/domains/example.test/catch-all')).body.targets).toEqual([
      'alice@example.test',
    ]);
    expect((await env.ctx.directory.resolve('whoever@example.test')).kind).toBe('alias');
    expect((await env.req('DELETE', '/api/v1/domains/example.test/catch-all')).status).toBe(200);
    expect((await env.req('GET', '/api/v1/domains/example.test/catch-all')).body.targets).toBeNull();
  });
});

describe('DKIM', () => {
  it('generates rsa-2048, refuses a second generate, rotates to ed25519 and retires', async () => {
    expect((await env.req('GET', '/api/v1/domains/example.test/dkim')).status).toBe(404);
    const g = await env.req('POST', '/api/v1/domains/example.test/dkim', { body: { selector: 'mail2025' } });
    expect(g.status).toBe(201);
    expect(g.body.current.dnsName).toBe('mail2025._domainkey.example.test');
    expect(g.body.current.dnsRecord).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    expect(g.body.current.zoneLine).toMatch(/IN TXT \( "v=DKIM1.{240,}" "/);
    expect(g.text).not.toContain('PRIVATE');
    expect((await env.req('POST', '/api/v1/domains/example.test/dkim', { body: {} })).status).toBe(409);
    expect(
      (await env.req('POST', '/api/v1/domains/example.test/dkim/rotate', { body: { selector: 'mail2025' } }))
        .status,
    ).toBe(400);
    const r = await env.req('POST', '/api/v1/domains/example.test/dkim/rotate', {
      body: { algorithm: 'ed25519' },
    });
    expect(r.body.current.dnsRecord).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(r.body.previous.selector).toBe('mail2025');
    const stored = await env.ctx.redis.hget('postamt:dkim:example.test', 'current');
    expect(JSON.parse(stored as string).privateKey).toContain('BEGIN PRIVATE KEY');
    expect((await env.req('DELETE', '/api/v1/domains/example.test/dkim/previous')).status).toBe(200);
    expect((await env.req('GET', '/api/v1/domains/example.test/dkim')).body.previous).toBeNull();
    expect((await env.req('GET', '/api/v1/domains/nowhere.test/dkim')).status).toBe(404);
  });
});

describe('policy allowlists', () => {
  it('adds, lists and removes entries in Redis', async () => {
    for (const entry of ['192.0.2.0/24', '2001:db8::1', 'Partner.Example']) {
      expect((await env.req('POST', '/api/v1/policy/allowlists/greylist', { body: { entry } })).status).toBe(
        200,
      );
    }
    await env.req('POST', '/api/v1/policy/allowlists/dnsbl', { body: { entry: '198.51.100.7' } });
    const all = await env.req('GET', '/api/v1/policy/allowlists', { token: env.tokens.read });
    expect(all.body).toEqual({
      greylist: ['192.0.2.0/24', '2001:db8::1', 'partner.example'],
      dnsbl: ['198.51.100.7'],
    });
    expect(await env.ctx.redis.sismember('postamt:policy:greylist:allow', 'partner.example')).toBe(1);
    expect((await env.req('DELETE', '/api/v1/policy/allowlists/greylist/192.0.2.0%2F24')).status).toBe(200);
    expect((await env.req('DELETE', '/api/v1/policy/allowlists/greylist/192.0.2.0%2F24')).status).toBe(404);
    expect((await env.req('GET', '/api/v1/policy/allowlists/greylist')).body.entries).toEqual([
      '2001:db8::1',
      'partner.example',
    ]);
  });
});

describe('quarantine', () => {
  it('lists with verdict, shows headers, releases to local and remote recipients, deletes', async () => {
    const id = quarantineEntry(env, { remote: ['bob@remote.test'] });
    const other = quarantineEntry(env, { verdict: { kind: 'spam', score: 30 }, subject: 'Cheap' });
    const list = await env.req('GET', '/api/v1/quarantine', { token: env.tokens.read });
    expect(list.body.entries).toHaveLength(2);
    // Both entries may share a millisecond, so their order is not fixed: find ours by id.
    expect(list.body.entries.find((e: { id: string }) => e.id === id)).toMatchObject({
      id,
      verdict: 'virus',
      reason: 'Eicar-Test-Signature',
      subject: 'Invoice',
      from: 'mallory@remote.test',
    });
    expect(
      (await env.req('GET', '/api/v1/quarantine?verdict=spam')).body.entries.map((e: { id: string }) => e.id),
    ).toEqual([other]);
    const one = await env.req('GET', `/api/v1/quarantine/${id}`);
    expect(one.body.headers).toContain('Subject: Invoice');
    expect(one.body.headers).not.toContain('body text');

    const rel = await env.req('POST', `/api/v1/quarantine/${id}/release`);
    expect(rel.body).toEqual({
      delivered: ['alice@example.test'],
      relayed: ['bob@remote.test'],
      skipped: [],
    });
    const inbox = join(userMaildir(env.dataDir, 'alice@example.test'), 'new');
    expect(readdirSync(inbox)).toHaveLength(1);
    // Indexed at delivery like any other: one summary line, with the parsed ENVELOPE.
    const summaries = readFileSync(join(inbox, '..', 'postamt-summaries.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toContain('Invoice');
    const relayJobs = await env.req('GET', '/api/v1/queues/relay/jobs?state=waiting');
    expect(
      relayJobs.body.jobs.some(
        (j: { data: { recipients: string[] } }) => j.data.recipients[0] === 'bob@remote.test',
      ),
    ).toBe(true);
    expect((await env.req('GET', `/api/v1/quarantine/${id}`)).status).toBe(404);
    expect((await env.req('POST', `/api/v1/quarantine/${id}/release`)).status).toBe(404);

    expect((await env.req('DELETE', `/api/v1/quarantine/${other}`)).status).toBe(200);
    expect((await env.req('DELETE', `/api/v1/quarantine/${other}`)).status).toBe(404);
    expect((await env.req('GET', '/api/v1/quarantine')).body.entries).toHaveLength(0);
    await env.ctx.queues.get('relay').obliterate({ force: true });
  });
});

describe('queues', () => {
  it('counts, lists with next attempt, promotes, deletes with the spool file, flushes a domain', async () => {
    const a = await relayJob(env, ['x@far.test']);
    const b = await relayJob(env, ['y@near.test']);
    const counts = await env.req('GET', '/api/v1/queues', { token: env.tokens.read });
    expect(counts.body.queues.relay.delayed).toBe(2);
    expect(Object.keys(counts.body.queues)).toEqual(['filter', 'relay', 'learn']);
    const list = await env.req('GET', '/api/v1/queues/relay/jobs?state=delayed&domain=far.test');
    expect(list.body.jobs).toHaveLength(1);
    const job = list.body.jobs[0];
    expect(job).toMatchObject({ id: a, state: 'delayed', attemptsMade: 0, lastError: null });
    expect(Date.parse(job.nextAttemptAt)).toBeGreaterThan(Date.now() + 3_000_000);
    expect((await env.req('GET', `/api/v1/queues/relay/jobs/${a}`)).body.id).toBe(a);
    expect((await env.req('GET', '/api/v1/queues/relay/jobs/nope')).status).toBe(404);

    expect((await env.req('POST', `/api/v1/queues/relay/jobs/${a}/retry`)).body).toEqual({
      result: 'promoted',
    });
    expect((await env.req('POST', `/api/v1/queues/relay/jobs/${a}/retry`)).status).toBe(409);
    expect((await env.req('DELETE', `/api/v1/queues/relay/jobs/${a}`)).status).toBe(200);
    expect(await env.ctx.spool.exists(a)).toBe(false);

    expect(
      (await env.req('POST', '/api/v1/queues/relay/flush', { body: { domain: 'near.test' } })).body,
    ).toEqual({ retried: 0, promoted: 1 });
    expect(await env.ctx.queues.get('relay').getJobState(b)).toBe('waiting');
    expect((await env.req('DELETE', '/api/v1/queues/relay/jobs?domain=near.test')).body).toEqual({
      deleted: 1,
    });
    expect(await env.ctx.spool.exists(b)).toBe(false);
  });

  it('shows the last error of a failed job and retries it', async () => {
    const id = await relayJob(env, ['z@fail.test'], 0);
    const worker = new Worker(
      'relay',
      async () => {
        throw new Error('connection refused by mx.fail.test');
      },
      { connection: env.ctx.redis.duplicate({ maxRetriesPerRequest: null }) },
    );
    await waitFor(
      'job failed',
      async () => (await env.ctx.queues.get('relay').getJobState(id)) === 'failed',
      15_000,
    );
    await worker.close();
    const list = await env.req('GET', '/api/v1/queues/relay/jobs?state=failed');
    expect(list.body.jobs[0]).toMatchObject({
      id,
      state: 'failed',
      attemptsMade: 1,
      lastError: 'connection refused by mx.fail.test',
    });
    expect((await env.req('POST', `/api/v1/queues/relay/jobs/${id}/retry`)).body).toEqual({
      result: 'retried',
    });
    expect(await env.ctx.queues.get('relay').getJobState(id)).toBe('waiting');
    await env.ctx.queues.get('relay').obliterate({ force: true });
  });
});

describe('learn', () => {
  it('queues a learn job for a Maildir file or a quarantine entry', async () => {
    const dir = join(env.dataDir, 'mail/example.test/alice/cur');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '1.host:2,S'), 'Subject: x\r\n\r\ny\r\n');
    const r = await env.req('POST', '/api/v1/learn', {
      body: { user: 'alice@example.test', as: 'spam', file: 'mail/example.test/alice/cur/1.host:2,S' },
    });
    expect(r.status).toBe(202);
    const job = await env.ctx.queues.get('learn').getJob(r.body.jobId);
    expect(job?.data).toEqual({
      user: 'alice@example.test',
      file: 'mail/example.test/alice/cur/1.host:2,S',
      as: 'spam',
    });
    const q = quarantineEntry(env);
    const r2 = await env.req('POST', '/api/v1/learn', {
      body: { user: 'alice@example.test', as: 'ham', quarantineId: q },
    });
    expect(r2.status).toBe(202);
    expect(
      (
        await env.req('POST', '/api/v1/learn', {
          body: { user: 'alice@example.test', as: 'ham', file: 'mail/none' },
        })
      ).status,
    ).toBe(404);
  });
});

describe('tokens and audit', () => {
  it('issues, uses and revokes a token; the secret is not stored', async () => {
    const c = await env.req('POST', '/api/v1/tokens', { body: { name: 'ci', scope: 'write' } });
    expect(c.status).toBe(201);
    expect(c.body.token).toMatch(/^pa_[A-Za-z0-9_-]{43}$/);
    expect((await env.req('GET', '/api/v1/whoami', { token: c.body.token })).body).toEqual({
      name: 'ci',
      scope: 'write',
    });
    const dump =
      JSON.stringify(await env.ctx.redis.keys('postamt:admin:*')) +
      JSON.stringify(await env.ctx.redis.hgetall('postamt:admin:tokens'));
    expect(dump).not.toContain(c.body.token);
    const list = await env.req('GET', '/api/v1/tokens');
    expect(list.body.tokens.map((t: { name: string }) => t.name)).toContain('ci');
    expect(list.text).not.toContain('pa_');
    expect((await env.req('DELETE', `/api/v1/tokens/${c.body.id}`)).status).toBe(200);
    expect((await env.req('GET', '/api/v1/whoami', { token: c.body.token })).status).toBe(401);
    expect((await env.req('DELETE', `/api/v1/tokens/${c.body.id}`)).status).toBe(404);
  });

  it('audits every change with who, what and when, without secrets', async () => {
    await env.req('POST', '/api/v1/users', {
      body: { address: 'dave@example.test', password: 'dave secret pw' },
      token: env.tokens.write,
    });
    const a = await env.req('GET', '/api/v1/audit?limit=500');
    const entry = a.body.entries.find(
      (e: { action: string; target: string }) => e.action === 'user.add' && e.target === 'dave@example.test',
    );
    expect(entry).toMatchObject({ actor: 'writer', action: 'user.add' });
    expect(Date.parse(entry.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(a.text).not.toContain('dave secret pw');
    const actions = new Set(a.body.entries.map((e: { action: string }) => e.action));
    for (const x of [
      'domain.add',
      'domain.remove',
      'user.password',
      'user.update',
      'user.remove',
      'alias.put',
      'catchall.set',
      'dkim.rotate',
      'quarantine.release',
      'queue.flush',
      'token.create',
      'learn',
    ]) {
      expect(actions, x).toContain(x);
    }
  });
});
