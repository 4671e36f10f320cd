// What a command handler may do with its session: read and set the state,
// answer through the one reply function, run hooks under their deadline, and
// ask the transport for the few things only it can do (TLS, DATA, AUTH lines).

import type { HookReply, SmtpHooks } from '../hooks.js';
import type { ClientLimiter } from '../limits.js';
import type { ResolvedOptions } from '../options.js';
import type { Command, Verb } from '../parser.js';
import type { SmtpReply } from '../replies.js';
import type { Session, State, StateKind, TlsInfo } from '../session.js';

export interface CommandContext {
  readonly session: Session;
  state: State;
  readonly options: ResolvedOptions;
  readonly hooks: SmtpHooks;
  readonly limits: ClientLimiter;
  readonly tls: TlsInfo | undefined;
  user: string | undefined;
  reply(r: SmtpReply): void;
  /** Runs a hook under the hook deadline; a throw or timeout becomes 451 4.3.0. */
  hook(name: string, run: () => Promise<HookReply> | HookReply): Promise<HookReply>;
  /** Answers `r` and closes the connection. */
  close(r: SmtpReply): void;
  /** Answers QUIT with `r` and closes the connection without waiting for the client's side. */
  quit(r: SmtpReply): void;
  startTls(): Promise<void>;
  /** Sends 354, reads the message into onData, answers its reply. */
  receiveData(tx: Extract<State, { kind: 'rcpt' }>): Promise<void>;
  /** Reads one line for a SASL exchange; null if the client went away. */
  readAuthLine(): Promise<string | null>;
}

export interface CommandModule<V extends Verb = Verb> {
  verbs: readonly V[];
  /** States in which the command may run. */
  states: readonly StateKind[];
  /** The answer in any other state. */
  wrongState(state: State): SmtpReply;
  handle(ctx: CommandContext, cmd: Extract<Command, { verb: V }>): Promise<void> | void;
}

/** Declares a command module with its verb types checked. */
export function command<V extends Verb>(m: CommandModule<V>): CommandModule<V> {
  return m;
}
