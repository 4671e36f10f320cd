// The onAuth hook of the submission listeners: SASL PLAIN/LOGIN
// (@postamt/smtp-server's saslExchange) checked against the directory, with
// failed attempts limited per client address and per account
// (auth-limiter.ts). Every outcome is one log line and one metric; the reply
// never says whether the account exists (RFC 4954 §6: 535 5.7.8 for both).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Directory } from '@postamt/directory';
import { Counter, type Logger, type Registry } from '@postamt/observability';
import { type AuthRequest, type AuthResult, Replies, type Session, saslExchange } from '@postamt/smtp-server';
import type { AuthLimiter } from './auth-limiter.js';

export interface AuthDeps {
  directory: Directory;
  limiter: AuthLimiter;
  failureDelayMs: number;
  registry: Registry;
  logger: Logger;
}

export function authHook(d: AuthDeps): (session: Session, req: AuthRequest) => Promise<AuthResult> {
  const attempts = new Counter({
    name: 'postamt_intake_auth_attempts_total',
    help: 'Submission AUTH attempts by result',
    labelNames: ['mechanism', 'result'],
    registers: [d.registry],
  });
  const lockouts = new Counter({
    name: 'postamt_intake_auth_lockouts_total',
    help: 'Submission AUTH lockouts started, per client address or account',
    labelNames: ['scope'],
    registers: [d.registry],
  });
  const log = d.logger.child({ component: 'auth' });

  return async (session, req) => {
    const mechanism = req.mechanism.toUpperCase();
    const client = session.remoteAddress;
    const count = (result: string) => attempts.inc({ mechanism, result });
    const sasl = await saslExchange(req);
    switch (sasl.kind) {
      case 'cancelled':
        count('cancelled');
        return { ok: false, reply: Replies.authCancelled };
      case 'unsupported':
        count('unsupported');
        return { ok: false, reply: Replies.authUnknownMechanism };
      case 'malformed': {
        count('malformed');
        const locks = await d.limiter.failed(client);
        for (const l of locks) lockouts.inc({ scope: l.scope });
        log.warn({ session: session.id, client, mechanism, reason: sasl.reason, locks }, 'AUTH malformed');
        return { ok: false, reply: Replies.authMalformed };
      }
      case 'credentials':
        break;
    }
    const { user, password } = sasl.credentials;
    const lock = await d.limiter.locked(client, user);
    if (lock) {
      count('locked');
      log.warn({ session: session.id, client, user, lock }, 'AUTH refused: locked out');
      return { ok: false, reply: Replies.authTempFailure };
    }
    const account = await d.directory.authenticate(user, password);
    if (!account) {
      count('failure');
      const locks = await d.limiter.failed(client, user);
      for (const l of locks) lockouts.inc({ scope: l.scope });
      log.warn({ session: session.id, client, user, mechanism, locks }, 'AUTH failed');
      if (d.failureDelayMs > 0) await sleep(d.failureDelayMs);
      return { ok: false, reply: Replies.authFailed };
    }
    await d.limiter.succeeded(user);
    count('success');
    log.info({ session: session.id, client, user: account.address, mechanism }, 'AUTH ok');
    return { ok: true, user: account.address };
  };
}
