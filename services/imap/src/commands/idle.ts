// IDLE (RFC 2177): "+ idling", then report changes as they happen until DONE.
// News comes from the mail events of every writer on the volume (see
// mail-events.ts); a slow poll covers events lost while Redis was away.
import { bad, R } from '../responses.js';
import { AUTHED, defineCommand, noArgs } from './command.js';
import { syncMailbox } from './util.js';

const POLL_MS = 30_000;

export const idle = defineCommand({
  name: 'IDLE',
  states: AUTHED,
  parse: noArgs,
  async handle(session) {
    await session.continuation('idling');
    let changed = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      changed = true;
      wake?.();
    };
    session.whenChanged(poke);
    const timer = setInterval(poke, POLL_MS);
    session.idling = true;
    try {
      // Changes that arrived just before IDLE are reported at once.
      await syncMailbox(session, true);
      for (;;) {
        const input = session.transport.waitInput();
        await Promise.race([input, new Promise<void>((resolve) => (wake = resolve))]);
        wake = null;
        if (changed) {
          changed = false;
          await syncMailbox(session, true, true);
        }
        if (session.transport.hasInput || session.transport.isClosed) break;
      }
    } finally {
      session.idling = false;
      session.whenChanged(null);
      clearInterval(timer);
    }
    const line = await session.readContinuationLine();
    if (line === null) return null;
    return line.toUpperCase() === 'DONE' ? R.done : bad('Expected DONE');
  },
});
