// Interoperability with fetchmail (Debian's fetchmail package): it logs in
// over STLS and over implicit TLS, fetches every message through an MDA that
// writes one file per message, and deletes them (--nokeep), all against the
// in-process server with plaintext logins refused without TLS.
//
// fetchmail hands the MDA the message with LF line ends (it strips the CR of
// each CRLF), so files are compared with the wire form converted back to LF.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

const run = promisify(execFile);
let env: TestEnv;
let home: string;

const messages = [
  'Subject: one\n\nfirst body\n.leading dot\n',
  'Subject: two\r\n\r\n.\r\n..\r\nsecond body\r\n',
  'Subject: three\n\nno final newline',
];
const asFetched = (m: string) => `${m.replace(/\r\n/g, '\n').replace(/\n?$/, '\n')}`;

beforeAll(async () => {
  env = await startEnv({ allowPlaintext: 'never' });
  home = makeTempDir('fetchmail');
});
afterAll(async () => {
  await env?.stop();
});

/** Runs fetchmail once with a generated rc file (it insists on mode 0600); returns the fetched files. */
async function fetchmail(
  name: string,
  port: number,
  tlsOptions: string,
): Promise<{ files: string[]; output: string }> {
  const dir = join(home, name);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const mda = join(dir, 'mda.sh');
  writeFileSync(mda, `#!/bin/sh\nexec cat > "$(mktemp ${out}/msg.XXXXXX)"\n`, { mode: 0o700 });
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(
    rc,
    [
      'set no syslog',
      `set idfile "${join(dir, 'fetchids')}"`,
      `poll 127.0.0.1 service ${port} protocol POP3 auth password timeout 20`,
      '  user "alice@example.test" there with password "secret" is "nobody" here',
      `  options nokeep fetchall no rewrite mda "${mda}"`,
      `  ${tlsOptions}`,
      '',
    ].join('\n'),
  );
  chmodSync(rc, 0o600);
  // FETCHMAILHOME keeps its pid file in our temp dir; --invisible: no Received: header.
  const r = await run('fetchmail', ['-f', rc, '--nodetach', '--invisible', '-v'], {
    env: { ...process.env, FETCHMAILHOME: dir, HOME: dir },
    timeout: 60_000,
  }).catch((err: { stdout?: string; stderr?: string; code?: number }) => {
    throw new Error(`fetchmail exit ${err.code}:\n${err.stdout}\n${err.stderr}`);
  });
  const files = readdirSync(out)
    .sort()
    .map((f) => readFileSync(join(out, f), 'latin1'));
  return { files, output: r.stdout + r.stderr };
}

describe('fetchmail', () => {
  it('retrieves and deletes over STLS', async () => {
    for (const m of messages) await env.put('alice', m);
    const { files, output } = await fetchmail('stls', env.server.port, "sslproto 'TLS1.2+' no sslcertck");
    expect(output).toMatch(/STLS/);
    expect(files.sort()).toEqual(messages.map(asFetched).sort());
    expect(env.files('alice', 'new')).toEqual([]);
    expect(env.files('alice', 'cur')).toEqual([]);
  });

  it('retrieves and deletes over implicit TLS', async () => {
    for (const m of messages) await env.put('alice', m);
    const { files } = await fetchmail('pop3s', env.server.tlsPort as number, 'ssl no sslcertck');
    expect(files.sort()).toEqual(messages.map(asFetched).sort());
    expect(env.files('alice', 'new')).toEqual([]);
    expect(env.files('alice', 'cur')).toEqual([]);
  });
});
