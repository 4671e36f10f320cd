// AUTHENTICATE (RFC 3501 §6.2.2) with PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), initial response per SASL-IR (RFC 4959).
// "*" cancels (BAD); "=" is an empty initial response.
import { bad, R, type Status } from '../responses.js';
import type { Session } from '../session.js';
import { defineCommand } from './command.js';
import { completeLogin } from './util.js';

function b64(text: string): string | null {
  if (text === '=') return '';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, 'base64').toString('utf8');
}

async function ask(session: Session, prompt: string): Promise<string | null | 'cancel'> {
  await session.continuation(Buffer.from(prompt).toString('base64'));
  const line = await session.readContinuationLine();
  if (line === null) return null;
  if (line === '*') return 'cancel';
  return b64(line);
}

const cancelled = bad('Authentication cancelled');

export const authenticate = defineCommand({
  name: 'AUTHENTICATE',
  states: ['not-authenticated'],
  parse(r) {
    r.sp();
    const mechanism = r.atom().toUpperCase();
    let initial: string | null = null;
    if (r.take(' ')) initial = r.atom();
    return { mechanism, initial };
  },
  async handle(session, { mechanism, initial }): Promise<Status> {
    if (mechanism !== 'PLAIN' && mechanism !== 'LOGIN') return bad('Unsupported mechanism');
    if (!session.plaintextAllowed()) return R.loginDisabled;
    let first: string | null | 'cancel' = initial === null ? null : b64(initial);
    if (initial !== null && first === null) return bad('Invalid base64');
    if (mechanism === 'PLAIN') {
      if (initial === null) first = await ask(session, '');
      if (first === 'cancel') return cancelled;
      if (first === null) return bad('Invalid base64');
      const [, authcid, password] = first.split('\0');
      if (authcid === undefined || password === undefined) return bad('Invalid PLAIN response');
      return completeLogin(session, authcid, password);
    }
    const user = first ?? (await ask(session, 'Username:'));
    if (user === 'cancel') return cancelled;
    if (user === null) return bad('Invalid base64');
    const password = await ask(session, 'Password:');
    if (password === 'cancel') return cancelled;
    if (password === null) return bad('Invalid base64');
    return completeLogin(session, user, password);
  },
});
