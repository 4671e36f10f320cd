// The table of POP3 verbs and the one dispatcher: line length, syntax,
// known verb, valid state — in that order — before any handler runs.
import { parseCommandLine } from '../protocol/parse.js';
import { R, toPop3Response } from '../responses.js';
import type { Session } from '../session.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import type { Command } from './command.js';
import { dele } from './dele.js';
import { list } from './list.js';
import { noop } from './noop.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { retr } from './retr.js';
import { rset } from './rset.js';
import { stat } from './stat.js';
import { stls } from './stls.js';
import { top } from './top.js';
import { uidl } from './uidl.js';
import { user } from './user.js';

export const commands: ReadonlyMap<string, Command> = new Map(
  [auth, capa, dele, list, noop, pass, quit, retr, rset, stat, stls, top, uidl, user].map((c) => [c.name, c]),
);

/** A client that keeps sending bad commands is not a real client. */
const MAX_ERRORS = 20;

export async function dispatch(session: Session, line: Buffer): Promise<void> {
  const errorsBefore = session.errors;
  await handleLine(session, line);
  if (session.errors > errorsBefore && session.errors >= MAX_ERRORS) {
    session.close();
    await session.reply(R.tooManyErrors, true);
  }
}

async function handleLine(session: Session, line: Buffer): Promise<void> {
  // RFC 2449 §4 caps command lines at 255 octets; we allow up to maxLine.
  if (line.length > session.deps.limits.maxLine) {
    session.errors++;
    return session.reply(R.lineTooLong);
  }
  const parsed = parseCommandLine(line);
  if (!parsed.ok) {
    session.errors++;
    return session.reply(parsed.reason === 'bad-bytes' ? R.syntax : R.unknownCommand);
  }
  const command = commands.get(parsed.verb);
  if (!command) {
    session.errors++;
    return session.reply(R.unknownCommand);
  }
  const state = session.state;
  if (!command.states.includes(state.kind)) {
    session.errors++;
    return session.reply(R.wrongState);
  }
  session.deps.metrics.commands.inc({ command: command.name });
  try {
    await command.run(session, { args: parsed.args, rest: parsed.rest }, state);
  } catch (err) {
    session.log.error({ err, command: command.name }, 'command failed');
    await session.reply(toPop3Response(err));
  }
}
