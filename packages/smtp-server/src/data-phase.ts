// The DATA phase (RFC 5321 §4.1.1.4) after 354: the client's bytes go through
// the dot decoder into a DataStream handed to onData as they arrive, with
// back-pressure; past the size limit they are counted and dropped, never
// stored, and the input is always read to the end marker before the reply.
// A message with a dot next to a bare CR/LF is refused in `reject` mode: the
// hook then sees the stream fail, not end, so it keeps nothing.

import { DotDecoder } from './dot-decoder.js';
import { DataStream, type SmtpHooks } from './hooks.js';
import type { Input } from './input.js';
import type { ResolvedOptions, SmtpLogger } from './options.js';
import { Replies, type SmtpReply } from './replies.js';
import type { Session } from './session.js';

export interface DataPhase {
  input: Input;
  options: ResolvedOptions;
  hooks: SmtpHooks;
  session: Session;
  log: SmtpLogger;
  /** Called once the end marker was read (the idle timeout no longer applies). */
  dataEnded(): void;
}

/** Reads one message into onData; its reply, or 'gone' when the client left mid-DATA. */
export async function readMessage(p: DataPhase): Promise<SmtpReply | 'gone'> {
  const o = p.options;
  const id = p.session.id;
  const decoder = new DotDecoder();
  const stream = new DataStream(() => p.input.resume());
  // A hook that has not started reading yet when the client leaves must not turn
  // the stream's error into an unhandled 'error' event that ends the process;
  // readers (for await, pipe) still see the error.
  stream.on('error', () => {});
  // The hook starts at once, so it can stream the message as it arrives.
  const hooked = Promise.resolve()
    .then(() => p.hooks.onData(p.session, stream))
    .catch((err: unknown) => {
      p.log.error({ session: id, err }, 'onData failed');
      return Replies.tempFailure;
    })
    .finally(() => {
      // Whatever the hook left unread is drained, so DATA can still end. A stream
      // the hook destroyed (it gave up early, e.g. disk full) never asks for more,
      // so the input, maybe paused by back-pressure, is resumed directly.
      if (stream.destroyed) p.input.resume();
      else stream.resume();
    });
  const ended = await p.input.readData(decoder, (chunks) => {
    let more = true;
    for (const c of chunks) {
      stream.size += c.length;
      if (stream.size > o.maxMessageSize) stream.sizeExceeded = true;
      else if (!stream.destroyed) more = stream.push(c) && more;
    }
    return more || stream.destroyed;
  });
  if (!ended) {
    stream.destroy(new Error('client went away during DATA'));
    await hooked;
    return 'gone';
  }
  p.dataEnded();
  if (decoder.bareLf || decoder.bareCr || decoder.suspectDot) {
    p.log.info(
      {
        session: id,
        client: p.session.remoteAddress,
        bareLf: decoder.bareLf,
        bareCr: decoder.bareCr,
        dot: decoder.suspectDot,
      },
      'bare newlines in message',
    );
  }
  const smuggling = decoder.suspectDot && o.bareNewlineDot === 'reject';
  if (smuggling) stream.destroy(new Error('bare newline next to a dot line'));
  else if (!stream.destroyed) stream.push(null);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SmtpReply>((resolve) => {
    timer = setTimeout(() => {
      p.log.error({ session: id }, 'onData timed out');
      resolve(Replies.tempFailure);
    }, o.timeouts.dataHook);
  });
  const r = await Promise.race([hooked, deadline]);
  clearTimeout(timer);
  return smuggling ? Replies.bareNewlineDot : r;
}
