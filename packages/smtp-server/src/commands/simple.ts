// The commands without session data: RSET (§4.1.1.5), NOOP (§4.1.1.9), QUIT
// (§4.1.1.10), VRFY (§4.1.1.6, answered 252 so it reveals nothing, §3.5.3)
// and HELP (§4.1.1.8).

import { Replies } from '../replies.js';
import { heloOf } from '../session.js';
import { command } from './context.js';

const served = ['greeted', 'ready', 'mail', 'rcpt'] as const;

export const rset = command({
  verbs: ['RSET'],
  states: served,
  wrongState: () => Replies.accessDenied,
  handle(ctx) {
    const helo = heloOf(ctx.state);
    ctx.state = helo ? { kind: 'ready', helo } : { kind: 'greeted' };
    ctx.reply(Replies.ok);
  },
});

export const noop = command({
  verbs: ['NOOP'],
  states: served,
  wrongState: () => Replies.accessDenied,
  handle(ctx) {
    ctx.reply(Replies.ok);
  },
});

export const quit = command({
  verbs: ['QUIT'],
  states: ['refused', ...served],
  wrongState: () => Replies.closing,
  handle(ctx) {
    ctx.quit(Replies.closing);
  },
});

export const vrfy = command({
  verbs: ['VRFY'],
  states: served,
  wrongState: () => Replies.accessDenied,
  handle(ctx) {
    ctx.reply(Replies.cannotVerify);
  },
});

export const help = command({
  verbs: ['HELP'],
  states: served,
  wrongState: () => Replies.accessDenied,
  handle(ctx) {
    ctx.reply(Replies.help);
  },
});
