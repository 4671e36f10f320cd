// Argument parsers shared by the verbs that take message numbers.
import type { CommandInput } from './command.js';

/** "[msg]": no argument, or one valid number. */
export const optionalMessage =
  (parseNumber: (arg: string | undefined) => number | null) =>
  ({ args }: CommandInput): { n: number | null } | null => {
    if (args.length === 0) return { n: null };
    const n = args.length === 1 ? parseNumber(args[0]) : null;
    return n === null ? null : { n };
  };
