import path from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import { ApplicationFailure } from '@temporalio/common';
import { desc, eq } from 'drizzle-orm';
import { registerDataset } from '../../activities/dataset-ingest';
import { duckDbLimitsOf, sourcePolicyOf } from '../../activities/source-policy';
import { ErrorTypes } from '../../common/names';
import { DatasetSchema, DatasetUploaded, DatasetUploadQuery } from '../../common/resources';
import { datasetUri } from '../../common/source-uri';
import type { Config } from '../../config';
import type { ArtifactStore } from '../../db/artifacts';
import type { Db } from '../../db/client';
import { datasets } from '../../db/schema';
import { requireRole } from '../auth';
import { receiveUpload } from '../dataset-upload';
import { ApiError, notFound } from '../errors';
import { errorResponses, json, newRouter, pathParam } from '../router';

const view = (d: typeof datasets.$inferSelect) => ({
  hash: d.hash, sourceUri: d.sourceUri, format: d.format, rows: d.rows, sizeBytes: d.sizeBytes,
  schema: d.schema, statistics: d.statistics, firstSeenAt: d.firstSeenAt.toISOString(),
});

export interface DatasetRouteDeps {
  db: Db;
  artifacts: ArtifactStore;
  config: Config;
}

/** the upload path, which the global body limit leaves alone: it streams under PERENNIAL_MAX_UPLOAD_BYTES instead */
export const UPLOAD_PATH = '/v1/datasets';

export function datasetRoutes({ db, artifacts, config }: DatasetRouteDeps) {
  const registry = {
    db, artifacts, duckdb: duckDbLimitsOf(sourcePolicyOf(config)), maxBytes: config.maxUploadBytes,
  };
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/', tags: ['datasets'], summary: 'Dataset versions, newest first',
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: json(z.object({ items: z.array(DatasetSchema) }), 'Datasets'), ...errorResponses(401) },
    }), async (c) => {
      const rows = await db.select().from(datasets).orderBy(desc(datasets.firstSeenAt)).limit(c.req.valid('query').limit);
      return c.json({ items: rows.map(view) }, 200);
    })

    .openapi(createRoute({
      method: 'post', path: '/', tags: ['datasets'], summary: 'Upload a dataset file: the raw body, any content type',
      description: 'Streams the body to disk (at most PERENNIAL_MAX_UPLOAD_BYTES, else 413), then registers it as ingest does: '
        + 'hashed, stored, profiled. 201 for a new version; 200 with the version already stored when the same bytes were seen before. '
        + 'A pipeline then names {"dataset": {"uri": "dataset://<hash>"}}.',
      middleware: [requireRole('operator')],
      request: {
        query: DatasetUploadQuery,
        body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
      },
      responses: {
        201: json(DatasetUploaded, 'Registered: a new dataset version'),
        200: json(DatasetUploaded, 'These bytes were registered before: the existing version'),
        ...errorResponses(400, 401, 403, 413, 422),
      },
    }), async (c) => {
      const { name, format } = c.req.valid('query');
      const upload = await receiveUpload(c.req.raw, config.maxUploadBytes, path.join(config.dataDir, 'uploads'));
      try {
        const version = await registerDataset(registry, {
          file: upload.file, name: `upload.${format}`, format, sourceUri: `upload:${name}`, shown: 'the upload',
        }).catch((err: unknown) => {
          if (err instanceof ApplicationFailure && err.type === ErrorTypes.dataset) throw new ApiError(422, 'invalid_dataset', err.message);
          throw err;
        });
        const [row] = await db.select().from(datasets).where(eq(datasets.hash, version.hash));
        return c.json({ ...view(row), uri: datasetUri(version.hash) }, version.deduplicated ? 200 : 201);
      } finally {
        await upload.remove();
      }
    })

    .openapi(createRoute({
      method: 'get', path: '/{hash}', tags: ['datasets'], summary: 'One dataset version: schema, statistics, source',
      request: { params: z.object({ hash: pathParam('hash', z.string()) }) },
      responses: { 200: json(DatasetSchema, 'The dataset version'), ...errorResponses(401, 404) },
    }), async (c) => {
      const { hash } = c.req.valid('param');
      const [d] = await db.select().from(datasets).where(eq(datasets.hash, hash));
      if (!d) throw notFound(`Dataset ${hash}`);
      return c.json(view(d), 200);
    });
}
