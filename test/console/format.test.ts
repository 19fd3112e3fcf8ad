/** How the console turns numbers into what a person reads, and drift into one scale. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duration, list, metric, relative } from '../../console/format';
import { driftScore } from '../../console/pages';

test('drift is one scale for every test: above 1 drifted, whether the test is a distance or a p-value', () => {
  assert.equal(driftScore({ test: 'wasserstein', statistic: 0.2, threshold: 0.1 }), 2);
  assert.equal(driftScore({ test: 'jensenShannon', statistic: 0.05, threshold: 0.1 }), 0.5);
  assert.equal(driftScore({ test: 'ks', statistic: 0.01, threshold: 0.05 }), 5, 'a small p-value drifted');
  assert.equal(driftScore({ test: 'chiSquare', statistic: 0.5, threshold: 0.05 }), 0.1, 'a large p-value did not');
  assert.equal(driftScore({ test: 'ks', statistic: 0, threshold: 0.05 }), 10, 'capped');
});

test('numbers, durations and times read as a person says them', () => {
  assert.equal(metric('accuracy', 0.8734), '87.3 %');
  assert.equal(metric('rmse', 12.3456), '12.3');
  assert.equal(metric('accuracy', null), '—');
  assert.equal(duration(950), '950 ms');
  assert.equal(duration(95_000), '1 min 35 s');
  assert.equal(duration(3 * 86_400_000), '3 days');
  assert.equal(relative(new Date(Date.now() - 120_000).toISOString()), '2 min ago');
  assert.equal(relative('not a date'), '—');
  assert.equal(list(['alice', 'bob', 'carol']), 'alice, bob and carol');
});
