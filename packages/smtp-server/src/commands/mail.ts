// MAIL FROM (RFC 5321 §4.1.1.2): opens a transaction. Checks, cheapest first:
// SMTPUTF8 for a non-ASCII address (RFC 6531 §3.4), the declared SIZE
// (RFC 1870 §6.1: 552 at MAIL time), the client's message rate, then the hook.

import { isPositive, Replies } from '../replies.js';
import type { MailFrom } from '../session.js';
import { command } from './context.js';

export const mail = command({
  verbs: ['MAIL'],
  states: ['ready'],
  wrongState: (s) => (s.kind === 'greeted' ? Replies.needHelo : Replies.nestedMail),
  async handle(ctx, cmd) {
    if (ctx.state.kind !== 'ready') return;
    const helo = ctx.state.helo;
    if (cmd.utf8 && !cmd.params.smtputf8) return ctx.reply(Replies.utf8Required);
    if (cmd.params.size !== undefined && cmd.params.size > ctx.options.maxMessageSize)
      return ctx.reply(Replies.messageTooBig);
    if (!(await ctx.limits.takeMessage(ctx.session.remoteAddress))) return ctx.reply(Replies.tooManyMessages);
    const from: MailFrom = { address: cmd.address, params: cmd.params };
    const onMailFrom = ctx.hooks.onMailFrom;
    if (onMailFrom) {
      const r = await ctx.hook('onMailFrom', () => onMailFrom.call(ctx.hooks, ctx.session, from));
      if (r && !isPositive(r)) return ctx.reply(r);
    }
    ctx.state = { kind: 'mail', helo, tx: { mailFrom: from, rcptTo: [] } };
    ctx.reply(Replies.senderOk);
  },
});
