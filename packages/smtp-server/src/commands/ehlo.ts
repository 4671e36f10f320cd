// HELO and EHLO (RFC 5321 §4.1.1.1): greet, reset any transaction (§4.1.4),
// and for EHLO list the extensions we serve. The policy may judge the name
// later (at MAIL FROM, as Postfix's smtpd_delay_reject) or here via onHelo.

import { isPositive, Replies } from '../replies.js';
import type { Helo } from '../session.js';
import { type CommandContext, command } from './context.js';

export function ehloLines(ctx: CommandContext): string[] {
  const o = ctx.options;
  const lines = [o.hostname, 'PIPELINING', `SIZE ${o.maxMessageSize}`];
  if (o.tls && !ctx.tls) lines.push('STARTTLS');
  if (ctx.hooks.onAuth && ctx.tls && !ctx.user) lines.push(`AUTH ${o.authMechanisms.join(' ')}`);
  lines.push('ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8');
  return lines;
}

export const ehlo = command({
  verbs: ['EHLO', 'HELO'],
  states: ['greeted', 'ready', 'mail', 'rcpt'],
  wrongState: () => Replies.accessDenied,
  async handle(ctx, cmd) {
    const helo: Helo = { verb: cmd.verb, name: cmd.domain };
    ctx.state = { kind: 'greeted' };
    const onHelo = ctx.hooks.onHelo;
    if (onHelo) {
      const r = await ctx.hook('onHelo', () => onHelo.call(ctx.hooks, ctx.session, helo));
      if (r && !isPositive(r)) return ctx.reply(r);
    }
    ctx.state = { kind: 'ready', helo };
    ctx.reply(
      cmd.verb === 'EHLO' ? { code: 250, text: ehloLines(ctx) } : { code: 250, text: ctx.options.hostname },
    );
  },
});
