// TLS policy and limits: plaintext refused before STLS, STLS injection, the
// implicit-TLS listener, idle timeout, connections per address, shutdown.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_NAME } from '../src/lock.js';
import { PopClient } from './client.js';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv({ allowPlaintext: 'never' });
});
afterAll(async () => {
  await env?.stop();
});

const plainAuth = Buffer.from('\u0000alice@example.test\u0000secret').toString('base64');

describe('plaintext policy and STLS', () => {
  it('refuses USER/PASS and AUTH PLAIN before TLS, and does not advertise them', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).toContain('STLS');
    expect(caps).not.toContain('USER');
    expect(caps).not.toContain('SASL PLAIN');
    expect(await c.cmd('USER alice@example.test')).toMatch(/^-ERR \[AUTH\] /);
    expect(await c.cmd('PASS secret')).toMatch(/^-ERR \[AUTH\] /);
    expect(await c.cmd(`AUTH PLAIN ${plainAuth}`)).toMatch(/^-ERR \[AUTH\] /);
    expect(await c.cmd('QUIT')).toBe('+OK Bye');
  });

  it('after STLS: forgets pipelined commands, advertises USER, logs in', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    // An attacker's command injected after STLS in the same packet must not run.
    c.send(Buffer.from('STLS\r\nUSER injected@example.test\r\n'));
    expect(await c.line()).toBe('+OK Begin TLS negotiation');
    await c.startTls();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).toEqual(expect.arrayContaining(['USER', 'SASL PLAIN']));
    expect(caps).not.toContain('STLS');
    expect(await c.cmd('STLS')).toBe('-ERR TLS is already active');
    expect(await c.cmd('PASS secret')).toBe('-ERR Send USER first');
    expect(await c.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS secret')).toMatch(/^\+OK Logged in/);
    expect(await c.cmd('QUIT')).toBe('+OK Bye');
  });

  it('accepts logins on the implicit-TLS listener', async () => {
    const c = await PopClient.connect(env.server.tlsPort as number, { tls: true });
    expect(await c.line()).toMatch(/^\+OK /);
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).not.toContain('STLS');
    expect(await c.cmd(`AUTH PLAIN ${plainAuth}`)).toMatch(/^\+OK Logged in/);
    expect(await c.cmd('QUIT')).toBe('+OK Bye');
  });
});

describe('limits', () => {
  it('logs out an idle session without committing (RFC 1939 §3 autologout)', async () => {
    await env.restart({ allowPlaintext: 'loopback', idleTimeoutMs: 400 });
    const name = await env.put('alice', 'Subject: idle\n\nx\n');
    const c = await PopClient.connect(env.server.port);
    await c.line();
    expect(await c.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS secret')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.line()).toBe('-ERR Idle timeout, closing connection');
    await c.waitClosed();
    expect(env.files('alice', 'new')).toEqual([name]);
    await sleep(50);
    expect(existsSync(join(env.inbox('alice'), LOCK_NAME))).toBe(false);
  });

  it('refuses connections over the per-address limit', async () => {
    await env.restart({ maxConnectionsPerIp: 2 });
    const a = await PopClient.connect(env.server.port);
    const b = await PopClient.connect(env.server.port);
    await a.line();
    await b.line();
    const c = await PopClient.connect(env.server.port);
    expect(await c.line()).toBe('-ERR [SYS/TEMP] Too many connections, try again later');
    await c.waitClosed();
    expect(await a.cmd('QUIT')).toBe('+OK Bye');
    await a.waitClosed();
    await sleep(50);
    const d = await PopClient.connect(env.server.port);
    expect(await d.line()).toMatch(/^\+OK /);
    await d.drop();
    await b.drop();
  });

  it('on shutdown ends sessions without committing and releases their locks', async () => {
    await env.restart({ allowPlaintext: 'loopback' });
    const c = await PopClient.connect(env.server.port);
    await c.line();
    expect(await c.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS secret')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(existsSync(join(env.inbox('alice'), LOCK_NAME))).toBe(true);
    await env.server.close();
    expect(await c.line()).toBe('-ERR [SYS/TEMP] Server shutting down');
    await c.waitClosed();
    expect(existsSync(join(env.inbox('alice'), LOCK_NAME))).toBe(false);
    expect(env.files('alice', 'new')).toHaveLength(1);
    await env.restart();
  });
});
