// indexMessage: the one pass at delivery. Walks the MIME structure, parses the
// Content-* and envelope fields of every part and renders ENVELOPE, BODY and
// BODYSTRUCTURE, so FETCH only has to read the stored index and file bytes.

import { renderBodyStructure } from './bodystructure.js';
import { renderEnvelope } from './envelope.js';
import { MessageParser, type WorkPart } from './message-parser.js';
import { parseEnvelope, parsePartData } from './part-data.js';
import { DEFAULT_LIMITS, type IndexLimits, type MessageIndex, PartFlag, type PartNode } from './types.js';

function toNode(w: WorkPart): PartNode {
  const node: PartNode = {
    pos: w.pos,
    header: w.header,
    body: w.body,
    flags: w.flags,
    data: parsePartData(w.fields, w.flags),
    children: w.children.map(toNode),
  };
  // RFC 3501 §7.4.2: ENVELOPE of the message and of each message/rfc822 part.
  if (w.parent === null || w.parent.flags & PartFlag.MESSAGE_RFC822) node.envelope = parseEnvelope(w.fields);
  return node;
}

export function indexMessage(buf: Buffer, limits: Partial<IndexLimits> = {}): MessageIndex {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const parser = new MessageParser(buf.toString('latin1'), lim);
  const root = toNode(parser.parse());
  return {
    version: 1,
    size: root.header.virtual + root.body.virtual,
    physicalSize: buf.length,
    root,
    envelope: renderEnvelope(root.envelope),
    body: renderBodyStructure(root, false),
    bodystructure: renderBodyStructure(root, true),
    limited: parser.limited,
  };
}

/** Indexes a message arriving as a stream; refuses more than `maxBytes`. */
export async function indexMessageStream(
  stream: AsyncIterable<Buffer | Uint8Array>,
  opts: { maxBytes?: number; limits?: Partial<IndexLimits> } = {},
): Promise<{ buf: Buffer; index: MessageIndex }> {
  const max = opts.maxBytes ?? 100 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw new Error('message too large');
    chunks.push(Buffer.from(chunk));
  }
  const buf = Buffer.concat(chunks, total);
  return { buf, index: indexMessage(buf, opts.limits) };
}

/** ENVELOPE list contents (without the outer parentheses), as a binary string. */
export const envelope = (index: MessageIndex): string => index.envelope;

/** BODYSTRUCTURE (extensible) or BODY (non-extensible), without outer parentheses. */
export const bodyStructure = (index: MessageIndex, extensible: boolean): string =>
  extensible ? index.bodystructure : index.body;
