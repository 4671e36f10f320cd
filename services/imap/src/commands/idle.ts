// IDLE (RFC 2177): "+ idling", then report changes as they happen (store
// change notifications, plus a slow poll as a safety net) until DONE.
import { bad, R } from '../responses.js';
import { AUTHED, defineCommand, noArgs } from './command.js';
import { syncMailbox } from './util.js';

const POLL_MS = 30_000;

export const idle = defineCommand({
  name: 'IDLE',
  states: AUTHED,
  parse: noArgs,
  async handle(session, _a, state) {
    await session.continuation('idling');
    let changed = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      changed = true;
      wake?.();
    };
    const stop = state.kind === 'selected' ? state.store.watch(state.mailbox.name, poke) : () => {};
    const timer = setInterval(poke, POLL_MS);
    try {
      for (;;) {
        const input = session.transport.waitInput();
        await Promise.race([input, new Promise<void>((resolve) => (wake = resolve))]);
        wake = null;
        if (changed) {
          changed = false;
          await syncMailbox(session, true);
        }
        if (session.transport.hasInput || session.transport.isClosed) break;
      }
    } finally {
      stop();
      clearInterval(timer);
    }
    const line = await session.readContinuationLine();
    if (line === null) return null;
    return line.toUpperCase() === 'DONE' ? R.done : bad('Expected DONE');
  },
});
