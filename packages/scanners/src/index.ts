// Own clients for the content scanners: clamd (INSTREAM) and spamd (SPAMC/1.5).
// Results are values with a status; neither client throws or crashes on a
// misbehaving server.

export { type BreakerOptions, type BreakerState, CircuitBreaker } from './breaker.js';
export { ClamdClient, type ClamdOptions } from './clamd.js';
export { type ClamdResult, type ClamdStatus, parseClamdReply } from './clamd-reply.js';
export { type Deadlines, defaultDeadlines, type Endpoint } from './deadlines.js';
export { buildRequest, parseResponse, parseSpamHeader, parseSymbols, type SpamScore } from './spamc-wire.js';
export {
  type CheckCommand,
  SpamdClient,
  type SpamdError,
  type SpamdLearned,
  type SpamdMessage,
  type SpamdOptions,
  type SpamdVerdict,
  type TellOptions,
} from './spamd.js';
