// The shape every POP3 verb module exports: its name, the states it is valid
// in, a pure argument parser and a handler that receives the narrowed state.
// `defineCommand` erases the per-command types so the table in index.ts can
// hold them all, after checking them once here.
import { R } from '../responses.js';
import type { Session, SessionState, StateKind } from '../session.js';

export interface CommandInput {
  args: string[];
  /** The argument text unsplit (PASS). */
  rest: string;
}

export interface Command {
  readonly name: string;
  readonly states: readonly StateKind[];
  run(session: Session, input: CommandInput, state: SessionState): Promise<void>;
}

type StateOf<K extends StateKind> = Extract<SessionState, { kind: K }>;

export function defineCommand<K extends StateKind, A>(def: {
  name: string;
  states: readonly K[];
  /** Returns null for a syntax error. */
  parse: (input: CommandInput) => A | null;
  handle: (session: Session, args: A, state: StateOf<K>) => Promise<void>;
}): Command {
  return {
    name: def.name,
    states: def.states,
    async run(session, input, state) {
      const args = def.parse(input);
      if (args === null) {
        session.errors++;
        return session.reply(R.syntax);
      }
      return def.handle(session, args, state as StateOf<K>);
    },
  };
}

/** For verbs without arguments. Extra arguments are a syntax error (RFC 1939 §3). */
export const noArgs = (input: CommandInput): Record<string, never> | null =>
  input.args.length === 0 ? {} : null;
