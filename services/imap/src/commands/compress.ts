// COMPRESS DEFLATE (RFC 4978): the tagged OK in the clear, then raw deflate
// both ways (transport.ts). Once only per connection: a second COMPRESS gets
// NO [COMPRESSIONACTIVE] (RFC 4978 §3, RFC 5530).
import { bad, no, ok } from '../responses.js';
import { AUTHED, defineCommand } from './command.js';

export const compress = defineCommand({
  name: 'COMPRESS',
  states: AUTHED,
  parse(r) {
    r.sp();
    return r.atom().toUpperCase();
  },
  async handle(session, mechanism, _state, ctx) {
    if (mechanism !== 'DEFLATE') return bad('Unknown compression mechanism');
    if (session.transport.compressed) return no('Compression already active', 'COMPRESSIONACTIVE');
    await session.status(ctx.tag, ok('DEFLATE active'));
    session.transport.startCompression();
    return null;
  },
});
