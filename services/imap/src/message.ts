// What FETCH and SEARCH need from a parsed message (RFC 3501 §6.4.5, §7.4.2).
// Kept behind this interface so @postamt/mime's indexer (Dovecot-exact
// ENVELOPE/BODYSTRUCTURE, stored part offsets) can replace the interim
// message-basic.ts without touching the commands.
import type { Section } from './protocol/fetch-args.js';
import type { Wire } from './protocol/serialize.js';

export interface ParsedMessage {
  envelope(): Wire;
  /** `extended` false: the BODY form without extension data. */
  bodyStructure(extended: boolean): Wire;
  /** Bytes of a section, exactly as stored; null when the part does not exist. */
  section(section: Section): Buffer | null;
  /** Unfolded values of a header field of the top-level message (SEARCH). */
  headerValues(name: string): string[];
  /** Body text for SEARCH BODY (undecoded in the interim implementation). */
  bodyText(): string;
}

export type MessageParser = (raw: Buffer) => ParsedMessage;
