/** The peer for the predict benchmark: a bare Hono route that parses the same JSON and answers, nothing else. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/v1/models/:target', async (c) => {
  const body = await c.req.json<{ instances: unknown[] }>();
  return c.json({ predictions: body.instances.map(() => ({ label: 'sun' })), modelVersion: 1 });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => console.log('ready'));
