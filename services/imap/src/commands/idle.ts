// IDLE (RFC 2177): "+ idling", then report changes as they happen until DONE.
// The session watches its folder (shared-folders.ts): news comes from the
// mail events of every writer on the volume (see mail-events.ts), each
// causing one read of the folder whose new state is pushed to every session
// watching it; a poll per folder, not per session, covers events lost while
// Redis was away.
import { bad, R } from '../responses.js';
import { AUTHED, defineCommand, noArgs } from './command.js';
import { extensions, syncMailbox } from './util.js';

const POLL_MS = 30_000;

export const idle = defineCommand({
  name: 'IDLE',
  states: AUTHED,
  parse: noArgs,
  async handle(session, _args, state) {
    await session.continuation('idling');
    session.idling = true;
    let stop: (() => void) | null = null;
    try {
      if (state.kind === 'selected') {
        const view = state.mailbox;
        const ext = extensions(session);
        const pollMs = session.deps.limits.idlePollMs ?? POLL_MS;
        // Watching before the first look: a state found meanwhile is not missed. Each merge is
        // one write, so lines of two merges never interleave.
        stop = state.store.watch(view.name, !view.readOnly, pollMs, (snap) => {
          const lines = view.sync(snap, true, ext);
          if (lines.length) void session.untaggedMany(lines);
        });
      }
      // Changes that arrived just before IDLE are reported at once.
      await syncMailbox(session, true);
      await session.transport.waitInput();
    } finally {
      session.idling = false;
      stop?.();
    }
    const line = await session.readContinuationLine();
    if (line === null) return null;
    return line.toUpperCase() === 'DONE' ? R.done : bad('Expected DONE');
  },
});
