// The one command table and the dispatcher: a line is parsed (parser.ts), the
// state is checked against the command's allowed states, and only then does
// the handler run. Protocol errors are counted here.

import { parseCommand, type Verb } from '../parser.js';
import { Replies } from '../replies.js';
import { auth } from './auth.js';
import type { CommandContext, CommandModule } from './context.js';
import { data, unsupported } from './data.js';
import { ehlo } from './ehlo.js';
import { mail } from './mail.js';
import { rcpt } from './rcpt.js';
import { help, noop, quit, rset, vrfy } from './simple.js';
import { starttls } from './starttls.js';

const MODULES: CommandModule<never>[] = [
  ehlo,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  help,
  starttls,
  auth,
  unsupported,
] as unknown as CommandModule<never>[];

export const COMMANDS: ReadonlyMap<Verb, CommandModule<never>> = new Map(
  MODULES.flatMap((m) => m.verbs.map((v) => [v as Verb, m] as const)),
);

/** Commands that do not move a mail transaction on (Postfix's junk commands). */
const JUNK = new Set<Verb>(['NOOP', 'RSET', 'VRFY', 'EXPN', 'HELP']);

export interface DispatchOutcome {
  /** A protocol error: syntax, sequence, unknown command. */
  error?: 'syntax' | 'unknown' | 'sequence';
  junk?: boolean;
  /** The client is not speaking SMTP (HTTP request, ...): close. */
  notSmtp?: boolean;
}

export async function dispatch(ctx: CommandContext, line: string): Promise<DispatchOutcome> {
  const parsed = parseCommand(line);
  if (!parsed.ok) {
    if (parsed.kind === 'not-smtp') {
      ctx.close(parsed.reply);
      return { notSmtp: true };
    }
    ctx.reply(
      ctx.state.kind === 'refused' && parsed.kind !== 'unknown' ? Replies.accessDenied : parsed.reply,
    );
    return { error: parsed.kind };
  }
  const cmd = parsed.command;
  const mod = COMMANDS.get(cmd.verb);
  if (!mod) {
    ctx.reply(Replies.unknownCommand);
    return { error: 'unknown' };
  }
  if (!mod.states.includes(ctx.state.kind)) {
    ctx.reply(ctx.state.kind === 'refused' ? Replies.accessDenied : mod.wrongState(ctx.state));
    return { error: 'sequence' };
  }
  await mod.handle(ctx, cmd as never);
  return { junk: JUNK.has(cmd.verb) };
}
