/**
 * npm run setup:native: a bad option is a usage line, not a stack trace; once set up, a second run
 * touches nothing, needs neither PyPI nor the npm registry, and still proves the backend loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const setup = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/setup-native.ts', ...args], {
  cwd: root, encoding: 'utf8', env: { ...process.env, ...env },
});

test('an unknown option is refused with the usage, and no stack trace', () => {
  const r = setup(['--gpus']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^setup:native: unknown option --gpus; usage: npm run setup:native \[-- --gpu\] \[-- --force\]\n$/);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
});

test('once set up, a second run needs no network, leaves the libraries in place, and checks the backend loads', (t) => {
  const stamp = path.join(root, 'node_modules/@tensorflow/tfjs-node/deps/perennial-native.json');
  if (!fs.existsSync(stamp)) {
    if (process.env.PERENNIAL_EXPECT_NATIVE === '1') assert.fail('npm run setup:native should have run before the tests');
    return t.skip('native TensorFlow is not set up here (npm run setup:native)');
  }
  const lib = path.join(root, 'node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow_cc.so.2');
  const inode = fs.statSync(lib).ino;
  // registries that refuse every connection: anything fetched would fail the run
  const r = setup([], { npm_config_registry: 'http://127.0.0.1:9/', PIP_INDEX_URL: 'http://127.0.0.1:9/simple', PIP_NO_INDEX: '1' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /already in \.tools\/native\/cpu-tf2\.21\.0/);
  assert.match(r.stdout, /@tensorflow\/tfjs-node 4\.22\.0 on TensorFlow 2\.21\.0: tf\.getBackend\(\) is 'tensorflow'/);
  assert.doesNotMatch(r.stdout, /downloading|compiling|installing/);
  assert.equal(fs.statSync(lib).ino, inode, 'the library a running process may hold was not replaced');
});
