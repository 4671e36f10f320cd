// The end of every login (PASS and AUTH PLAIN): check the credentials, lock
// the maildrop, take its snapshot, enter TRANSACTION (RFC 1939 §4).
//
// Failures: wrong credentials → -ERR [AUTH] after a delay, and the connection
// closes after `maxAuthFailures`; maildrop locked → -ERR [IN-USE] (RFC 2449
// §8.1.1), staying in AUTHORIZATION; directory or disk trouble → -ERR
// [SYS/TEMP] (RFC 3206 §4), never a verdict on the password.
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureMaildir, userMaildir } from '@postamt/maildir';
import { acquireLock } from './lock.js';
import { Maildrop } from './maildrop.js';
import { ok, R, toPop3Response } from './responses.js';
import type { Session } from './session.js';

export async function loginFailed(session: Session): Promise<void> {
  session.authFailures++;
  session.deps.metrics.logins.inc({ result: 'failed' });
  await sleep(session.deps.limits.authFailDelayMs);
  if (session.authFailures >= session.deps.limits.maxAuthFailures) {
    session.close();
    return session.reply(R.tooManyFailures, true);
  }
  await session.reply(R.authFailed);
}

export async function login(session: Session, name: string, password: string): Promise<void> {
  const { deps } = session;
  let account: { key: string } | null;
  try {
    account = await deps.directory.authenticate(name, password);
  } catch (err) {
    session.log.error({ err }, 'directory lookup failed during login');
    deps.metrics.logins.inc({ result: 'error' });
    return session.reply(R.temporary);
  }
  if (!account) {
    session.log.info({ user: name }, 'login failed');
    return loginFailed(session);
  }
  try {
    const dir = userMaildir(deps.dataDir, account.key);
    await ensureMaildir(dir);
    const lock = await acquireLock(dir, {
      staleMs: deps.limits.lockStaleMs,
      onLost: () => {
        session.log.error({ user: account.key }, 'maildrop lock lost, ending session');
        void session.abort(R.temporary);
      },
    });
    if (!lock) {
      session.log.info({ user: account.key }, 'maildrop in use');
      deps.metrics.logins.inc({ result: 'in-use' });
      return session.reply(R.inUse);
    }
    let maildrop: Maildrop;
    try {
      maildrop = await Maildrop.open(dir, deps.sizes);
    } catch (err) {
      await lock.release();
      throw err;
    }
    session.state = { kind: 'transaction', userKey: account.key, maildrop, lock };
    const { count, size } = maildrop.stat();
    session.log.info({ user: account.key, count, size }, 'logged in');
    deps.metrics.logins.inc({ result: 'ok' });
    await session.reply(ok(`Logged in, ${count} messages (${size} octets)`));
  } catch (err) {
    session.log.error({ err, user: account.key }, 'opening the maildrop failed');
    deps.metrics.logins.inc({ result: 'error' });
    await session.reply(toPop3Response(err));
  }
}
