// QUIT (RFC 1939 §4, §6). In AUTHORIZATION it just closes; in TRANSACTION it
// enters UPDATE: the deletions and seen flags are committed, then the lock
// is released and the connection closed.
import { R } from '../responses.js';
import { defineCommand, noArgs } from './command.js';

export const quit = defineCommand({
  name: 'QUIT',
  states: ['authorization', 'transaction'],
  parse: noArgs,
  async handle(session, _args, state) {
    session.close();
    if (state.kind === 'authorization') return session.reply(R.bye, true);
    session.state = { kind: 'update' };
    let result: { removed: number; failed: number };
    try {
      result = await state.maildrop.commit();
    } finally {
      await state.lock.release();
    }
    session.deps.metrics.deleted.inc(result.removed);
    if (result.failed > 0) {
      session.log.error({ user: state.userKey, failed: result.failed }, 'deleted messages not removed');
      return session.reply(R.updateFailed, true);
    }
    session.log.info({ user: state.userKey, removed: result.removed }, 'maildrop updated');
    await session.reply(R.bye, true);
  },
});
