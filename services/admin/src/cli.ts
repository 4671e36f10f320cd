#!/usr/bin/env node
// `postamt`: the operators' CLI. Talks to the admin API (POSTAMT_ADMIN_URL with
// POSTAMT_ADMIN_TOKEN, or --url/--token), or with --redis builds the API
// in-process against Redis directly. Exit codes:
//   0 ok · 1 failed · 2 usage · 3 not found · 4 unauthorised/forbidden
//   5 conflict · 6 invalid input · 7 API or Redis unreachable · 78 bad configuration
import { ConfigError } from '@postamt/config';
import { flagString, parseArgs, UsageError } from './cli/args.js';
import { ApiFailure, commands, findCommand } from './cli/commands.js';
import { completionScript } from './cli/completion.js';
import { configCheck } from './cli/config-check.js';
import { loadCliSettings } from './cli/settings.js';
import { directTransport, httpTransport, type Transport, UnreachableError } from './cli/transport.js';

const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  conflict: 5,
  invalid: 6,
  unreachable: 7,
  config: 78,
};

function help(): string {
  const lines = commands.map(
    (c) => `  postamt ${[...c.words, c.usage].filter(Boolean).join(' ')}\n      ${c.summary}`,
  );
  return `postamt — administer a Postamt mail server

Usage: postamt [--json] [--url URL] [--token TOKEN] [--redis [URL]] <command>

Commands:
${lines.join('\n')}
  postamt config check
      Validate the POSTAMT_* configuration, Redis and the data volume
  postamt completion bash|zsh
      Print a shell completion script

The API is found at POSTAMT_ADMIN_URL (default http://127.0.0.1:8080) with
the token in POSTAMT_ADMIN_TOKEN. --redis talks to Redis (POSTAMT_REDIS_URL)
directly instead, for use next to it (inside a container).

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 unauthorised or forbidden,
5 conflict, 6 invalid input, 7 unreachable, 78 bad configuration.
`;
}

function exitFor(status: number): number {
  if (status === 400) return EXIT.invalid;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 503) return EXIT.unreachable;
  return EXIT.failed;
}

async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const json = args.flags.has('json');
  const out = (s: string) => process.stdout.write(s);
  const [first, second] = args.positional;
  if (!first || first === 'help' || args.flags.has('help')) {
    out(help());
    return first || args.flags.has('help') ? EXIT.ok : EXIT.usage;
  }
  if (first === 'completion') {
    const script = completionScript(second ?? 'bash');
    if (!script) throw new UsageError('expected bash or zsh');
    out(script);
    return EXIT.ok;
  }
  if (first === 'config' && second === 'check') {
    const r = await configCheck();
    if (json) out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      for (const [k, v] of Object.entries(r.checks)) out(`${k}: ${v}\n`);
      for (const p of r.problems) process.stderr.write(`problem: ${p}\n`);
      out(r.ok ? 'configuration OK\n' : 'configuration has problems\n');
    }
    return r.ok ? EXIT.ok : EXIT.config;
  }
  const found = findCommand(args.positional);
  if (!found) throw new UsageError(`unknown command: ${args.positional.join(' ')} (see postamt --help)`);

  const settings = loadCliSettings();
  let api: Transport;
  const redisFlag = args.flags.get('redis');
  if (redisFlag) {
    api = await directTransport({
      redisUrl: typeof redisFlag === 'string' ? redisFlag : settings.redisUrl,
      data: settings.data,
      hostname: settings.hostname,
    });
  } else {
    const token = flagString(args, 'token') ?? settings.adminToken;
    if (!token)
      throw new UsageError(
        'no API token: set POSTAMT_ADMIN_TOKEN, pass --token, or use --redis next to Redis',
      );
    api = httpTransport(flagString(args, 'url') ?? settings.adminUrl, token);
  }
  try {
    await found.command.run({ args, rest: found.rest, json, api, out });
  } finally {
    await api.close();
  }
  return EXIT.ok;
}

function fail(message: string, code: number, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify({ error: message, exitCode: code })}\n`);
  process.stderr.write(`postamt: ${message}\n`);
  return code;
}

const argv = process.argv.slice(2);
const wantsJson = argv.includes('--json');
run(argv)
  .catch((err: unknown) => {
    if (err instanceof UsageError) return fail(err.message, EXIT.usage, wantsJson);
    if (err instanceof ApiFailure) return fail(err.message, exitFor(err.status), wantsJson);
    if (err instanceof UnreachableError) return fail(err.message, EXIT.unreachable, wantsJson);
    if (err instanceof ConfigError) return fail(err.message, EXIT.config, wantsJson);
    return fail(`unexpected error: ${(err as Error).message}`, EXIT.failed, wantsJson);
  })
  .then((code) => {
    process.exitCode = code;
  });
