import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { leavePromiseHookOff, withDeadline } from '../../common/temporal-deadline';
import { testTemporalAddress } from '../helpers/temporal';

test('Temporal calls with a deadline end at it, nested and side by side, with the deadline store off between them', async () => {
  const connection = await Connection.connect({ address: await testTemporalAddress() });
  try {
    const client = new Client({ connection });
    const storage = connection.callContextStorage as typeof connection.callContextStorage & { enabled?: boolean };
    leavePromiseHookOff(connection);
    if ('enabled' in storage) assert.equal(storage.enabled, false, 'off once connected');
    // a workflow no worker runs: a query to it waits for one until its deadline
    const id = `deadline-${process.pid}-${Date.now()}`;
    const handle = await client.workflow.start('noWorkerRunsThis', { taskQueue: id, workflowId: id });
    try {
      const [alone, nested, unbounded] = await Promise.allSettled([
        withDeadline(client, 300, () => handle.query('status')),
        withDeadline(client, 600_000, () => withDeadline(client, 300, () => handle.query('status'))),
        withDeadline(client, 600_000, () => handle.describe()),
      ]);
      for (const outcome of [alone, nested]) {
        assert.equal(outcome.status, 'rejected');
        const { cause } = (outcome as PromiseRejectedResult).reason as { cause?: { code?: number; details?: string } };
        assert.equal(cause?.code, 4, `gRPC DEADLINE_EXCEEDED: ${cause?.details}`);
      }
      assert.equal(unbounded.status, 'fulfilled', 'a call beside them keeps its own, longer deadline');
      if ('enabled' in storage) assert.equal(storage.enabled, false, 'off again once no call with a deadline is under way');
    } finally {
      await handle.terminate();
    }
  } finally {
    await connection.close();
  }
});
