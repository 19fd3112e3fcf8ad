/**
 * Replays recorded pipeline histories against today's workflow code. A change that would break
 * running pipelines (non-determinism) fails here. Record a new history after an intended,
 * versioned change with: RECORD_HISTORY=1 npm test -- test/api/pipeline-lifecycle.test.ts test/api/canary.test.ts test/api/governance.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowsPath } from '../../workers/plugin';

Runtime.install({ logger: new DefaultLogger('WARN') });
const dir = path.join(import.meta.dirname, '../fixtures/histories');

test('recorded pipeline histories replay against the current workflow code without non-determinism', async () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, 'there is at least one recorded history');
  const bundle = process.env.PERENNIAL_TEST_WORKFLOW_BUNDLE;
  for (const file of files) {
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    await Worker.runReplayHistory(
      bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath },
      history,
      `replay-${file}`,
    );
  }
});
