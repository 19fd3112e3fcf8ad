/** A team that already runs Temporal adds PerennialPlugin to its own plain Workers. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { LocalArtifactStore } from '../../db/artifacts';
import type { PipelineSpec } from '../../common/pipeline-request';
import { PipelineRequest } from '../../common/pipeline-request';
import { modelVersions } from '../../db/schema';
import { PerennialPlugin } from '../../workers/plugin';
import { trainingPipeline } from '../../workflows';
import { openTestDatabase } from '../helpers/database';
import { SEATTLE_WEATHER } from '../helpers/platform';
import { testTemporalAddress } from '../helpers/temporal';

Runtime.install({ logger: new DefaultLogger('WARN') });

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

test('PerennialPlugin on plain Workers runs a pipeline to a production model', async () => {
  const address = await testTemporalAddress();
  const database = await openTestDatabase();
  cleanups.push(() => database.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-plugin-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const artifacts = new LocalArtifactStore(dir);
  const suffix = crypto.randomBytes(4).toString('hex');

  const connection = await NativeConnection.connect({ address });
  cleanups.push(() => connection.close());
  const bundle = process.env.PERENNIAL_TEST_WORKFLOW_BUNDLE;
  const orchestration = await Worker.create({
    connection, taskQueue: `team-main-${suffix}`,
    plugins: [new PerennialPlugin({ role: 'orchestration', db: database.db, artifacts, workflowBundlePath: bundle })],
  });
  const training = await Worker.create({
    connection, taskQueue: `team-gpu-${suffix}`,
    plugins: [new PerennialPlugin({ role: 'training', artifacts, backend: 'wasm' })],
  });

  const clientConnection = await Connection.connect({ address });
  cleanups.push(() => clientConnection.close());
  const client = new Client({ connection: clientConnection });
  const spec = PipelineRequest.parse({
    model: 'plugin-weather', dataset: { uri: SEATTLE_WEATHER }, target: 'weather',
    training: { epochs: 3, hiddenUnits: [8] }, approval: { required: false },
  }) as PipelineSpec;

  const result = await orchestration.runUntil(training.runUntil(client.workflow.execute(trainingPipeline, {
    taskQueue: `team-main-${suffix}`, workflowId: `pipeline-plugin-weather-${suffix}`,
    args: [{ spec, trainingTaskQueue: `team-gpu-${suffix}` }],
  })));

  assert.equal(result.status, 'completed');
  assert.equal(result.modelVersion, 1);
  assert.equal(result.dataset?.rows, 1461);
  const versions = await database.db.select().from(modelVersions).where(eq(modelVersions.modelName, 'plugin-weather'));
  assert.deepEqual(versions.map((v) => [v.version, v.status]), [[1, 'production']]);
});
