// @postamt/mime: a MIME indexer for the IMAP server. Index once at delivery
// (indexMessage), store the JSON index, then answer FETCH ENVELOPE / BODY /
// BODYSTRUCTURE / BODY[section]<partial> and SEARCH text criteria from it and
// the file bytes. Wire strings are binary strings (one char per byte).

export { parseAddressList } from './address.js';
export { type HeaderField, readHeaderFields } from './header-parser.js';
export { bodyStructure, envelope, indexMessage, indexMessageStream } from './indexer.js';
export * from './search.js';
export {
  fetchSection,
  findPart,
  headerFields,
  parseSection,
  type SectionSpec,
  toWire,
} from './sections.js';
export {
  extractHeads,
  isSummary,
  MAX_HEADS,
  type MessageSummary,
  SUMMARY_HEADS,
  summarizeMessage,
} from './summary.js';
export * from './types.js';
export { literal, nstring, nstringNoLf, quoted, stringForHumans } from './wire.js';
