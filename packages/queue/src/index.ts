export { type Job, Worker } from 'bullmq';
export {
  type BounceDeps,
  type BouncedMessage,
  type BounceOptions,
  readHeaderBlock,
  spoolDsn,
} from './bounce.js';
export {
  catalog,
  filterJob,
  type JobName,
  type JobPayload,
  learnJob,
  queueName,
  relayJob,
} from './catalog.js';
export { buildDsn, type DsnAction, type DsnInput, type DsnRecipient, rfc5322Date } from './dsn.js';
export { type Envelope, envelopeSchema, type Recipient, recipientSchema } from './envelope.js';
export { isSpoolId, newSpoolId, spoolIdTime } from './ids.js';
export { Queues } from './queues.js';
export { connectRedis, pingRedis, Redis, waitRedisReady } from './redis.js';
export {
  fsyncDir,
  Spool,
  type SpoolEntry,
  SpoolError,
  type SpoolOptions,
  type SpoolWriter,
} from './spool.js';
export { type SweepResult, sweepSpool } from './sweep.js';
