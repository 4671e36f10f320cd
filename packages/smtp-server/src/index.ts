// @postamt/smtp-server: an SMTP server layer (RFC 5321) that applications plug
// hooks into. Wire syntax (parser.ts, params.ts, address.ts, line-scan.ts,
// dot-decoder.ts, proxy.ts) is pure and tested alone; sessions (session.ts,
// commands/) and transport (connection.ts, input.ts, server.ts) use it.

export { isDomain, parseMailbox, parsePath } from './address.js';
export { DotDecoder } from './dot-decoder.js';
export {
  type AuthRequest,
  type AuthResult,
  DataStream,
  type HookReply,
  type SmtpHooks,
} from './hooks.js';
export {
  type ClientLimiter,
  type ClientLimitOptions,
  ClientLimits,
  clientKey,
  type RateKind,
} from './limits.js';
export { type LineScan, scanLine } from './line-scan.js';
export type { SmtpLogger, SmtpServerOptions, Timeouts } from './options.js';
export {
  type BodyType,
  decodeXtext,
  type MailParams,
  type NotifyType,
  parseMailParams,
  parseRcptParams,
  type RcptParams,
} from './params.js';
export { type Command, lineLimit, type ParseResult, parseCommand, type Verb } from './parser.js';
export { MemoryPassedClients, type PassedClientStore } from './pregreet.js';
export { type ProxyAddress, type ProxyParse, parseProxyHeader, proxyV2Header } from './proxy.js';
export { formatReply, greeting, isPositive, Replies, type SmtpReply } from './replies.js';
export {
  decodeSaslResponse,
  parsePlain,
  SASL_MECHANISMS,
  type SaslCredentials,
  type SaslMechanism,
  type SaslResult,
  saslExchange,
} from './sasl.js';
export { SmtpServer } from './server.js';
export type { Helo, MailFrom, RcptTo, Session, State, TlsInfo } from './session.js';
