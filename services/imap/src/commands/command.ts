// The shape every IMAP command module exports: its name, the states it is
// valid in, a pure argument parser over the Reader, and a handler that
// receives the narrowed state and returns the tagged status.
import type { Reader } from '../protocol/reader.js';
import type { Status } from '../responses.js';
import type { Session, SessionState, StateKind } from '../session.js';

export interface Context {
  tag: string;
  /** Called as "UID <command>" (RFC 3501 §6.4.8). */
  uid: boolean;
  /** UTF8=ACCEPT is enabled: mailbox names are UTF-8 on the wire (RFC 6855 §3). */
  utf8: boolean;
}

export interface Command {
  readonly name: string;
  readonly states: readonly StateKind[];
  /** FETCH/STORE/SEARCH without UID must not cause untagged EXPUNGE (RFC 3501 §7.4.1). */
  readonly holdsExpunge?: boolean;
  run(session: Session, r: Reader, state: SessionState, ctx: Context): Promise<Status | null>;
}

type StateOf<K extends StateKind> = Extract<SessionState, { kind: K }>;

export function defineCommand<K extends StateKind, A>(def: {
  name: string;
  states: readonly K[];
  holdsExpunge?: boolean;
  /** Parses everything after the command name (including the leading SP); throws ParseError. */
  parse: (r: Reader, ctx: Context) => A;
  handle: (session: Session, args: A, state: StateOf<K>, ctx: Context) => Promise<Status | null>;
}): Command {
  return {
    name: def.name,
    states: def.states,
    holdsExpunge: def.holdsExpunge,
    async run(session, r, state, ctx) {
      const args = def.parse(r, ctx);
      r.end();
      return def.handle(session, args, state as StateOf<K>, ctx);
    },
  };
}

export const noArgs = (): null => null;

export const ANY: readonly StateKind[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHED = ['authenticated', 'selected'] as const;
export const SELECTED = ['selected'] as const;
