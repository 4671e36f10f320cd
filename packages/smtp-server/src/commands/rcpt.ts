// RCPT TO (RFC 5321 §4.1.1.3): adds a recipient. The recipient count limit
// answers 452 (§4.5.3.1.10), the client's recipient rate 450, then the hook.

import { isPositive, Replies } from '../replies.js';
import type { RcptTo } from '../session.js';
import { command } from './context.js';

export const rcpt = command({
  verbs: ['RCPT'],
  states: ['mail', 'rcpt'],
  wrongState: (s) => (s.kind === 'greeted' ? Replies.needHelo : Replies.needMail),
  async handle(ctx, cmd) {
    const s = ctx.state;
    if (s.kind !== 'mail' && s.kind !== 'rcpt') return;
    if (cmd.utf8 && !s.tx.mailFrom.params.smtputf8) return ctx.reply(Replies.utf8Required);
    if (s.tx.rcptTo.length >= ctx.options.maxRecipients) return ctx.reply(Replies.tooManyRecipients);
    if (!(await ctx.limits.takeRecipient(ctx.session.remoteAddress)))
      return ctx.reply(Replies.tooManyRecipientsRate);
    const to: RcptTo = { address: cmd.address, params: cmd.params };
    const onRcptTo = ctx.hooks.onRcptTo;
    if (onRcptTo) {
      const r = await ctx.hook('onRcptTo', () => onRcptTo.call(ctx.hooks, ctx.session, to));
      if (r && !isPositive(r)) return ctx.reply(r);
    }
    // The hook ran while the state could not change (commands run one at a time).
    s.tx.rcptTo.push(to);
    ctx.state = { kind: 'rcpt', helo: s.helo, tx: s.tx };
    ctx.reply(Replies.recipientOk);
  },
});
