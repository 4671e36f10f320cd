// Interoperability with a real client: curl's POP3 support (libcurl) against
// the in-process server, plain, STLS (--ssl-reqd) and implicit TLS (pop3s://).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

const run = promisify(execFile);
let env: TestEnv;

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run(
    'curl',
    ['-sS', '--max-time', '20', '-u', 'alice@example.test:secret', ...args],
    {
      encoding: 'latin1',
    },
  );
  return stdout;
}

const first = 'Subject: first\n\n.dot line\nbare LF\n';
const second = 'Subject: second\r\n\r\nbody\r\n';
const wire = (s: string) => s.replace(/\r?\n/g, '\r\n');

beforeAll(async () => {
  // Plaintext only over TLS, so the plain-port tests also prove STLS works.
  env = await startEnv({ allowPlaintext: 'never' });
  await env.put('alice', first);
  await env.put('alice', second);
});
afterAll(async () => {
  await env?.stop();
});

describe('curl', () => {
  it('is refused without TLS when plaintext logins are not allowed', async () => {
    await expect(curl([`pop3://127.0.0.1:${env.server.port}/`])).rejects.toThrow();
  });

  it('lists over STLS', async () => {
    const out = await curl(['--ssl-reqd', '-k', `pop3://127.0.0.1:${env.server.port}/`]);
    expect(out).toBe(`1 ${wire(first).length}\r\n2 ${wire(second).length}\r\n`);
  });

  it('retrieves byte-exact over STLS and implicit TLS', async () => {
    expect(await curl(['--ssl-reqd', '-k', `pop3://127.0.0.1:${env.server.port}/1`])).toBe(wire(first));
    expect(await curl(['-k', `pop3s://127.0.0.1:${env.server.tlsPort}/2`])).toBe(second);
  });

  it('runs UIDL and DELE as custom commands', async () => {
    const uidl = await curl(['-k', '-X', 'UIDL', `pop3s://127.0.0.1:${env.server.tlsPort}/`]);
    const lines = uidl.trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1 [\x21-\x7e]+$/);
    await curl(['-k', '-X', 'DELE', '-I', `pop3s://127.0.0.1:${env.server.tlsPort}/1`]);
    // Both were retrieved above, so QUIT moved them to cur/ as seen; one is left.
    expect(env.files('alice', 'new')).toEqual([]);
    expect(env.files('alice', 'cur')).toHaveLength(1);
    expect(env.files('alice', 'cur')[0]).toMatch(/:2,S$/);
    const list = await curl(['-k', `pop3s://127.0.0.1:${env.server.tlsPort}/`]);
    expect(list).toBe(`1 ${wire(second).length}\r\n`);
  });
});
