// Message data for FETCH and SEARCH from the cached @postamt/mime index and
// the stored bytes (RFC 3501 §6.4.5, §7.4.2): ENVELOPE/BODY/BODYSTRUCTURE
// are pre-rendered in the index, sections are cut from the file by the part
// offsets it recorded — never re-parsed, never recomposed. Sizes, offsets and
// section bytes are in CRLF form, as Dovecot serves them (see CONFORMANCE.md).
import { fetchSection, type MessageIndex, type SectionSpec } from '@postamt/mime';
import type { Section } from './protocol/fetch-args.js';

const KIND: Record<NonNullable<Section['text']>, SectionSpec['kind']> = {
  HEADER: 'header',
  'HEADER.FIELDS': 'fields',
  'HEADER.FIELDS.NOT': 'fields.not',
  TEXT: 'text',
  MIME: 'mime',
};

export function sectionSpec(
  section: Section,
  partial: { start: number; length: number } | null = null,
): SectionSpec {
  return {
    path: section.part,
    kind: section.text ? KIND[section.text] : 'body',
    fields: section.fields,
    ...(partial ? { partial: { offset: partial.start, length: partial.length } } : {}),
  };
}

/**
 * How many leading bytes of the file a section needs: the top-level header
 * sections need only the header, everything else the whole message (null).
 */
export function bytesNeeded(spec: SectionSpec, index: MessageIndex): number | null {
  if (spec.path.length > 0) return null;
  if (spec.kind === 'header' || spec.kind === 'fields' || spec.kind === 'fields.not')
    return index.root.pos + index.root.header.physical;
  return null;
}

export function section(bytes: Buffer, index: MessageIndex, spec: SectionSpec): Buffer {
  return fetchSection(bytes, index, spec);
}
