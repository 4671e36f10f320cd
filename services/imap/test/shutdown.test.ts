// Graceful stop (issue 8): on close() — what SIGTERM calls — the server takes
// no new connections, sessions between commands and in IDLE hear BYE at
// once, and a command in flight (here an APPEND whose literal is still being
// uploaded) completes with its tagged OK before its session hears BYE.
import { connect } from 'node:net';
import { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop().catch(() => {});
});

async function login(): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK/);
  await c.command('l LOGIN alice@example.test secret', /^l OK/);
  return c;
}

describe('graceful stop', () => {
  it('says BYE to idle sessions at once and lets an in-flight APPEND finish first', async () => {
    const waiting = await login();
    const idling = await login();
    await idling.command('s SELECT INBOX', /^s OK/);
    await idling.command('i IDLE', /^\+ /);
    const uploading = await login();
    const body = 'Subject: late\r\n\r\nstill uploading\r\n';
    await uploading.command(`a APPEND INBOX {${body.length}}`, /^\+ /);

    const closed = env.server.close();
    await waiting.expect(/^\* BYE \[UNAVAILABLE\]/);
    await idling.expect(/^\* BYE \[UNAVAILABLE\]/);
    await waiting.waitClosed();
    // The upload goes on and is answered; BYE comes after the tagged reply.
    uploading.write(body);
    uploading.send('');
    await uploading.expect(/^a OK \[APPENDUID \d+ \d+\]/);
    await uploading.expect(/^\* BYE \[UNAVAILABLE\]/);
    await uploading.waitClosed();
    await closed;
    // Nobody is listening any more.
    await expect(
      new Promise((resolve, reject) => {
        const s = connect(env.server.port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
