// bull-board (the BullMQ dashboard) for the catalog's queues, mounted behind the
// same token check as the API (see auth/plugin.ts: GET needs read, actions write).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { catalog, type JobName } from '@postamt/queue';
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.js';

export async function mountBullBoard(
  app: FastifyInstance,
  ctx: AdminContext,
  basePath: string,
): Promise<void> {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({
    queues: (Object.keys(catalog) as JobName[]).map((n) => new BullMQAdapter(ctx.queues.get(n))),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Postamt queues' } },
  });
  await app.register(adapter.registerPlugin(), { prefix: basePath });
}
