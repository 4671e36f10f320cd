// The DSN builder lives in @postamt/queue (the filter bounces refused
// submissions with it too); re-exported for the relay's modules and tests.
export { buildDsn, type DsnAction, type DsnInput, type DsnRecipient, rfc5322Date } from '@postamt/queue';
