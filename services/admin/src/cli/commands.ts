// The table of `postamt` commands: words, usage, summary and a handler that
// turns arguments into one or more API requests and renders the answer.
import { flagString, type ParsedArgs, UsageError } from './args.js';
import { humanBytes, table } from './output.js';
import { readPassword } from './password.js';
import type { ApiResponse, Transport } from './transport.js';

export interface CommandContext {
  args: ParsedArgs;
  /** Positional arguments after the command words. */
  rest: string[];
  json: boolean;
  api: Transport;
  out(text: string): void;
}

export interface Command {
  words: string[];
  usage: string;
  summary: string;
  run(c: CommandContext): Promise<void>;
}

/** A non-2xx answer from the API. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

const enc = encodeURIComponent;

async function call(c: CommandContext, method: string, path: string, body?: unknown): Promise<unknown> {
  const res: ApiResponse = await c.api.request(method, `/api/v1${path}`, body);
  if (res.status >= 200 && res.status < 300) return res.body;
  const b = res.body as { message?: string } | null;
  throw new ApiFailure(res.status, b?.message ?? `the API answered ${res.status}`);
}

function need(c: CommandContext, n: number, what: string): string[] {
  if (c.rest.length < n) throw new UsageError(`expected ${what}`);
  return c.rest;
}

/** Prints `data` as JSON, or the human text. */
function show(c: CommandContext, data: unknown, human: () => string): void {
  c.out(c.json ? `${JSON.stringify(data, null, 2)}\n` : human());
}

function done(c: CommandContext, data: unknown, message: string): void {
  show(c, data, () => `${message}\n`);
}

type Rows = Record<string, unknown>[];

export const commands: Command[] = [
  {
    words: ['domain', 'add'],
    usage: '<domain>',
    summary: 'Add a local domain',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      done(c, await call(c, 'POST', '/domains', { name: d }), `domain ${d} added`);
    },
  },
  {
    words: ['domain', 'list'],
    usage: '',
    summary: 'List local domains',
    run: async (c) => {
      const r = (await call(c, 'GET', '/domains')) as { domains: Rows };
      show(c, r, () => table(r.domains, ['name', 'users', 'aliases', 'catchAll']));
    },
  },
  {
    words: ['domain', 'remove'],
    usage: '<domain> [--purge-mail]',
    summary: 'Remove a domain with its users and aliases (and their mail with --purge-mail)',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      const q = c.args.flags.has('purge-mail') ? '?purgeMail=true' : '';
      done(c, await call(c, 'DELETE', `/domains/${enc(d as string)}${q}`), `domain ${d} removed`);
    },
  },
  {
    words: ['user', 'add'],
    usage: '<address> [--quota 2GB] [--password-stdin]',
    summary: 'Create a user (password prompted, or read from standard input)',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      const password = await readPassword(c.args.flags.has('password-stdin'));
      const quota = flagString(c.args, 'quota');
      const r = await call(c, 'POST', '/users', { address: a, password, ...(quota ? { quota } : {}) });
      done(c, r, `user ${a} created`);
    },
  },
  {
    words: ['user', 'list'],
    usage: '<domain>',
    summary: 'List the users of a domain',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      const r = (await call(c, 'GET', `/domains/${enc(d as string)}/users`)) as { users: Rows };
      show(c, r, () =>
        table(
          r.users.map((u) => ({ ...u, quota: humanBytes(u.quota as number) })),
          ['address', 'quota', 'enabled'],
        ),
      );
    },
  },
  {
    words: ['user', 'show'],
    usage: '<address>',
    summary: 'Show a user',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      const u = (await call(c, 'GET', `/users/${enc(a as string)}`)) as Record<string, unknown>;
      show(c, u, () =>
        table([{ ...u, quota: humanBytes(u.quota as number) }], ['address', 'quota', 'enabled']),
      );
    },
  },
  {
    words: ['user', 'passwd'],
    usage: '<address> [--password-stdin]',
    summary: 'Set a user’s password',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      const password = await readPassword(c.args.flags.has('password-stdin'));
      done(
        c,
        await call(c, 'PUT', `/users/${enc(a as string)}/password`, { password }),
        `password of ${a} set`,
      );
    },
  },
  {
    words: ['user', 'quota'],
    usage: '<address> <size|0>',
    summary: 'Set a user’s quota (0 = unlimited)',
    run: async (c) => {
      const [a, q] = need(c, 2, 'an address and a size');
      const quota = /^\d+$/.test(q as string) ? Number(q) : q;
      done(c, await call(c, 'PATCH', `/users/${enc(a as string)}`, { quota }), `quota of ${a} set`);
    },
  },
  {
    words: ['user', 'disable'],
    usage: '<address>',
    summary: 'Disable a user (no login, no delivery)',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      done(c, await call(c, 'PATCH', `/users/${enc(a as string)}`, { enabled: false }), `user ${a} disabled`);
    },
  },
  {
    words: ['user', 'enable'],
    usage: '<address>',
    summary: 'Enable a disabled user',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      done(c, await call(c, 'PATCH', `/users/${enc(a as string)}`, { enabled: true }), `user ${a} enabled`);
    },
  },
  {
    words: ['user', 'remove'],
    usage: '<address> [--delete-mail]',
    summary: 'Delete a user (and their Maildir with --delete-mail)',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      const q = c.args.flags.has('delete-mail') ? '?deleteMail=true' : '';
      done(c, await call(c, 'DELETE', `/users/${enc(a as string)}${q}`), `user ${a} removed`);
    },
  },
  {
    words: ['alias', 'add'],
    usage: '<address> <target>...',
    summary: 'Create or replace an alias',
    run: async (c) => {
      const [a, ...targets] = need(c, 2, 'an alias address and at least one target');
      done(
        c,
        await call(c, 'PUT', `/aliases/${enc(a as string)}`, { targets }),
        `alias ${a} → ${targets.join(', ')}`,
      );
    },
  },
  {
    words: ['alias', 'list'],
    usage: '<domain>',
    summary: 'List the aliases of a domain',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      const r = (await call(c, 'GET', `/domains/${enc(d as string)}/aliases`)) as { aliases: Rows };
      show(c, r, () => table(r.aliases, ['address', 'targets']));
    },
  },
  {
    words: ['alias', 'remove'],
    usage: '<address>',
    summary: 'Remove an alias',
    run: async (c) => {
      const [a] = need(c, 1, 'an address');
      done(c, await call(c, 'DELETE', `/aliases/${enc(a as string)}`), `alias ${a} removed`);
    },
  },
  {
    words: ['catchall', 'set'],
    usage: '<domain> <target>...',
    summary: 'Send mail for unknown local parts of a domain to these targets',
    run: async (c) => {
      const [d, ...targets] = need(c, 2, 'a domain and at least one target');
      done(
        c,
        await call(c, 'PUT', `/domains/${enc(d as string)}/catch-all`, { targets }),
        `catch-all of ${d} set`,
      );
    },
  },
  {
    words: ['catchall', 'remove'],
    usage: '<domain>',
    summary: 'Remove a domain’s catch-all',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      done(c, await call(c, 'DELETE', `/domains/${enc(d as string)}/catch-all`), `catch-all of ${d} removed`);
    },
  },
  {
    words: ['dkim', 'generate'],
    usage: '<domain> [--algorithm rsa-2048|ed25519] [--selector name]',
    summary: 'Generate a domain’s first DKIM key and print its DNS record',
    run: async (c) => dkimWrite(c, ''),
  },
  {
    words: ['dkim', 'rotate'],
    usage: '<domain> [--algorithm rsa-2048|ed25519] [--selector name]',
    summary: 'Make a new DKIM key current (the old one stays as previous)',
    run: async (c) => dkimWrite(c, '/rotate'),
  },
  {
    words: ['dkim', 'show'],
    usage: '<domain>',
    summary: 'Print the DNS TXT records of a domain’s DKIM keys',
    run: async (c) => {
      const [d] = need(c, 1, 'a domain');
      const r = await call(c, 'GET', `/domains/${enc(d as string)}/dkim`);
      show(c, r, () => dkimText(r));
    },
  },
  {
    words: ['allowlist', 'list'],
    usage: '',
    summary: 'Show the greylist and DNSBL allowlists',
    run: async (c) => {
      const r = (await call(c, 'GET', '/policy/allowlists')) as { greylist: string[]; dnsbl: string[] };
      show(
        c,
        r,
        () => `greylist: ${r.greylist.join(' ') || '(none)'}\ndnsbl:    ${r.dnsbl.join(' ') || '(none)'}\n`,
      );
    },
  },
  {
    words: ['allowlist', 'add'],
    usage: 'greylist|dnsbl <ip|cidr|domain>',
    summary: 'Add an allowlist entry',
    run: async (c) => {
      const [l, e] = need(c, 2, 'a list (greylist or dnsbl) and an entry');
      done(
        c,
        await call(c, 'POST', `/policy/allowlists/${enc(l as string)}`, { entry: e }),
        `${e} added to ${l}`,
      );
    },
  },
  {
    words: ['allowlist', 'remove'],
    usage: 'greylist|dnsbl <ip|cidr|domain>',
    summary: 'Remove an allowlist entry',
    run: async (c) => {
      const [l, e] = need(c, 2, 'a list (greylist or dnsbl) and an entry');
      done(
        c,
        await call(c, 'DELETE', `/policy/allowlists/${enc(l as string)}/${enc(e as string)}`),
        `${e} removed from ${l}`,
      );
    },
  },
  {
    words: ['queue', 'list'],
    usage: '[filter|relay|learn] [--state waiting,delayed,failed] [--domain d]',
    summary: 'Queue counts, or the jobs of one queue with last error and next attempt',
    run: async (c) => {
      const [q] = c.rest;
      if (!q) {
        const r = (await call(c, 'GET', '/queues')) as { queues: Record<string, Record<string, number>> };
        show(c, r, () =>
          table(
            Object.entries(r.queues).map(([name, n]) => ({ queue: name, ...n })),
            ['queue', 'waiting', 'active', 'delayed', 'failed'],
          ),
        );
        return;
      }
      const params = new URLSearchParams();
      const state = flagString(c.args, 'state');
      const domain = flagString(c.args, 'domain');
      if (state) params.set('state', state);
      if (domain) params.set('domain', domain);
      const qs = params.size ? `?${params}` : '';
      const r = (await call(c, 'GET', `/queues/${enc(q)}/jobs${qs}`)) as { jobs: Rows };
      show(c, r, () =>
        table(
          r.jobs.map((j) => ({ ...j, recipients: (j.data as { recipients?: string[] }).recipients ?? '-' })),
          ['id', 'state', 'attemptsMade', 'nextAttemptAt', 'recipients', 'lastError'],
        ),
      );
    },
  },
  {
    words: ['queue', 'flush'],
    usage: '[domain]',
    summary: 'Try deferred relay jobs now (for one domain, or all)',
    run: async (c) => {
      const [d] = c.rest;
      const r = (await call(c, 'POST', '/queues/relay/flush', d ? { domain: d } : {})) as {
        retried: number;
        promoted: number;
      };
      done(c, r, `flushed: ${r.promoted} deferred and ${r.retried} failed jobs scheduled now`);
    },
  },
  {
    words: ['queue', 'retry'],
    usage: '<queue> <job-id>',
    summary: 'Run a failed or delayed job now',
    run: async (c) => {
      const [q, id] = need(c, 2, 'a queue and a job id');
      done(
        c,
        await call(c, 'POST', `/queues/${enc(q as string)}/jobs/${enc(id as string)}/retry`),
        `job ${id} retried`,
      );
    },
  },
  {
    words: ['queue', 'delete'],
    usage: '<queue> <job-id> | <queue> --domain <domain>',
    summary: 'Delete a job and its spooled message, or every job for a domain',
    run: async (c) => {
      const domain = flagString(c.args, 'domain');
      if (domain) {
        const [q] = need(c, 1, 'a queue');
        const r = (await call(c, 'DELETE', `/queues/${enc(q as string)}/jobs?domain=${enc(domain)}`)) as {
          deleted: number;
        };
        done(c, r, `${r.deleted} jobs deleted`);
        return;
      }
      const [q, id] = need(c, 2, 'a queue and a job id (or --domain)');
      done(
        c,
        await call(c, 'DELETE', `/queues/${enc(q as string)}/jobs/${enc(id as string)}`),
        `job ${id} deleted`,
      );
    },
  },
  {
    words: ['quarantine', 'list'],
    usage: '[--verdict virus|spam|...]',
    summary: 'List quarantined messages with their verdict',
    run: async (c) => {
      const v = flagString(c.args, 'verdict');
      const r = (await call(c, 'GET', `/quarantine${v ? `?verdict=${enc(v)}` : ''}`)) as { entries: Rows };
      show(c, r, () => table(r.entries, ['id', 'verdict', 'reason', 'from', 'recipients', 'subject']));
    },
  },
  {
    words: ['quarantine', 'show'],
    usage: '<id>',
    summary: 'Show a quarantined message’s verdict and headers',
    run: async (c) => {
      const [id] = need(c, 1, 'a quarantine id');
      const r = (await call(c, 'GET', `/quarantine/${enc(id as string)}`)) as Record<string, unknown>;
      show(
        c,
        r,
        () => `${table([r], ['id', 'verdict', 'reason', 'from', 'recipients'])}\n${r.headers as string}\n`,
      );
    },
  },
  {
    words: ['quarantine', 'release'],
    usage: '<id>',
    summary: 'Deliver a quarantined message to its recipients',
    run: async (c) => {
      const [id] = need(c, 1, 'a quarantine id');
      const r = (await call(c, 'POST', `/quarantine/${enc(id as string)}/release`)) as {
        delivered: string[];
        relayed: string[];
      };
      done(
        c,
        r,
        `released ${id}: delivered to ${r.delivered.join(', ') || 'nobody'}, relayed to ${r.relayed.join(', ') || 'nobody'}`,
      );
    },
  },
  {
    words: ['quarantine', 'delete'],
    usage: '<id>',
    summary: 'Delete a quarantined message',
    run: async (c) => {
      const [id] = need(c, 1, 'a quarantine id');
      done(c, await call(c, 'DELETE', `/quarantine/${enc(id as string)}`), `quarantine entry ${id} deleted`);
    },
  },
  {
    words: ['learn'],
    usage: '<user> <file-under-mail/> spam|ham',
    summary: 'Queue a learn job for a stored message',
    run: async (c) => {
      const [user, file, as] = need(c, 3, 'a user, a file and spam or ham');
      const r = await call(c, 'POST', '/learn', { user, file, as });
      done(c, r, `learn job queued (${as})`);
    },
  },
  {
    words: ['token', 'create'],
    usage: '<name> read|write|admin',
    summary: 'Issue an API token (printed once)',
    run: async (c) => {
      const [name, scope] = need(c, 2, 'a name and a scope');
      const r = (await call(c, 'POST', '/tokens', { name, scope })) as { token: string };
      show(c, r, () => `${r.token}\n`);
    },
  },
  {
    words: ['token', 'list'],
    usage: '',
    summary: 'List API tokens',
    run: async (c) => {
      const r = (await call(c, 'GET', '/tokens')) as { tokens: Rows };
      show(c, r, () => table(r.tokens, ['id', 'name', 'scope', 'createdAt']));
    },
  },
  {
    words: ['token', 'revoke'],
    usage: '<id>',
    summary: 'Revoke an API token',
    run: async (c) => {
      const [id] = need(c, 1, 'a token id');
      done(c, await call(c, 'DELETE', `/tokens/${enc(id as string)}`), `token ${id} revoked`);
    },
  },
];

async function dkimWrite(c: CommandContext, suffix: string): Promise<void> {
  const [d] = need(c, 1, 'a domain');
  const algorithm = flagString(c.args, 'algorithm');
  const selector = flagString(c.args, 'selector');
  const r = await call(c, 'POST', `/domains/${enc(d as string)}/dkim${suffix}`, {
    ...(algorithm ? { algorithm } : {}),
    ...(selector ? { selector } : {}),
  });
  show(c, r, () => `Publish this DNS record:\n\n${dkimText(r)}`);
}

function dkimText(r: unknown): string {
  const v = r as { current: { zoneLine: string }; previous: { zoneLine: string } | null };
  let s = `${v.current.zoneLine}\n`;
  if (v.previous)
    s += `\nprevious key (keep published until its mail is delivered):\n${v.previous.zoneLine}\n`;
  return s;
}

/** The longest command whose words prefix the positional arguments. */
export function findCommand(positional: string[]): { command: Command; rest: string[] } | null {
  let best: Command | null = null;
  for (const cmd of commands) {
    if (cmd.words.every((w, i) => positional[i] === w) && (!best || cmd.words.length > best.words.length))
      best = cmd;
  }
  return best ? { command: best, rest: positional.slice(best.words.length) } : null;
}
