// Command-line parsing for `postamt`: global flags anywhere, `--flag value`,
// `--flag=value`, boolean flags, and `--` to end flags. Pure, no I/O.

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags that never take a value. */
const BOOLEAN = new Set(['json', 'help', 'purge-mail', 'delete-mail', 'password-stdin', 'yes', 'version']);

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h') {
      flags.set('help', true);
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) flags.set(name, a.slice(eq + 1));
      else if (BOOLEAN.has(name)) flags.set(name, true);
      else if (name === 'redis') {
        // --redis takes an optional URL.
        const next = argv[i + 1];
        if (next && /^rediss?:\/\//.test(next)) {
          flags.set(name, next);
          i++;
        } else flags.set(name, true);
      } else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
        flags.set(name, next);
        i++;
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
