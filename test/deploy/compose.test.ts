import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Checked with the docker-compose CLI, which needs no Docker engine to render a file.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const composeFile = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));

// An empty env file in place of the project's .env, so a developer's settings cannot change what is checked.
const scratchDir = mkdtempSync(join(tmpdir(), 'perennial-compose-test-'));
const emptyEnvFile = join(scratchDir, 'empty.env');
writeFileSync(emptyEnvFile, '');
after(() => rmSync(scratchDir, { recursive: true, force: true }));

const productionServices = ['postgres', 'temporal', 'temporal-ui', 'migrate', 'api', 'worker', 'trainer'];

function compose(args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync('docker-compose', ['--file', composeFile, '--project-directory', repoRoot, '--env-file', emptyEnvFile, ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
  });
}

const requiredSecrets = {
  PERENNIAL_ADMIN_TOKEN: 'compose-test-admin-token',
  POSTGRES_PASSWORD: 'compose-test-postgres-password',
  PERENNIAL_DB_PASSWORD: 'compose-test-perennial-password',
  PERENNIAL_DB_OWNER_PASSWORD: 'compose-test-owner-password',
  TEMPORAL_DB_PASSWORD: 'compose-test-temporal-password',
};

/** the environment with every required secret, less the ones named */
function envWithout(...missing: (keyof typeof requiredSecrets)[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...requiredSecrets };
  for (const name of missing) delete env[name];
  delete env.COMPOSE_FILE;
  delete env.COMPOSE_PROFILES;
  delete env.PERENNIAL_METRICS_TOKEN;
  return env;
}

function dockerComposeInstalled(): boolean {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

/** The lines of one top-level service in `docker-compose config` output (two-space indented YAML). */
function serviceBlock(renderedYaml: string, name: string): string {
  const lines = renderedYaml.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  assert.notEqual(start, -1, `service ${name} is missing from the rendered compose file`);
  const end = lines.findIndex((line, i) => i > start && /^ {0,2}\S/.test(line));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

test('docker-compose.yml parses with docker-compose config and defines the whole production stack', (t) => {
  if (!dockerComposeInstalled()) {
    t.skip('docker-compose is not installed: apt-get install docker-compose');
    return;
  }
  const env = envWithout();

  const quiet = compose(['config', '-q'], env);
  assert.equal(quiet.status, 0, `docker-compose config -q failed:\n${quiet.stderr}`);

  const rendered = compose(['config'], env);
  assert.equal(rendered.status, 0, `docker-compose config failed:\n${rendered.stderr}`);
  const services = compose(['config', '--services'], env).stdout.split('\n').filter(Boolean);
  for (const service of productionServices) {
    assert.ok(services.includes(service), `service ${service} is missing; services: ${services.join(', ')}`);
  }

  const trainer = serviceBlock(rendered.stdout, 'trainer');
  assert.match(trainer, /dockerfile: Dockerfile\.trainer/);
  assert.match(trainer, /^ {4}deploy:\n {6}resources:\n {8}reservations:\n {10}devices:$/m);
  assert.match(trainer, /^\s+driver: nvidia$/m);
  assert.match(trainer, /capabilities:\n\s+- gpu$/m);
  assert.match(trainer, /^\s+count: 1$/m);
  assert.match(trainer, /^\s+PERENNIAL_TF_BACKEND: tensorflow-gpu$/m);
  assert.match(trainer, /platform\/trainer\.ts/);

  const worker = serviceBlock(rendered.stdout, 'worker');
  assert.match(worker, /platform\/worker\.ts/);
  for (const name of ['api', 'worker', 'trainer']) {
    const block = serviceBlock(rendered.stdout, name);
    assert.match(block, /artifacts:\/data/, `${name} mounts the shared artifacts volume`);
    assert.match(block, /PERENNIAL_DATA_DIR: \/data/);
    assert.match(block, /TEMPORAL_ADDRESS: temporal:7233/);
    assert.match(block, /DATABASE_URL: postgres:\/\/perennial:compose-test-perennial-password@postgres:5432\/perennial/);
    assert.match(block, /PERENNIAL_MIGRATE_ON_START: "false"/, `${name} does not try to change the schema`);
    if (name === 'api') assert.match(block, /PERENNIAL_ADMIN_TOKEN: compose-test-admin-token/);
    else assert.doesNotMatch(block, /PERENNIAL_ADMIN_TOKEN/, `${name} is not given the admin token`);
    assert.match(block, /migrate:\n\s+condition: service_completed_successfully/, `${name} waits for migrations`);
  }
  assert.match(serviceBlock(rendered.stdout, 'api'), /\/readyz/);
});

test("only the migrate service connects as the schema's owner; the application's role is set up by app-role.sql", (t) => {
  if (!dockerComposeInstalled()) {
    t.skip('docker-compose is not installed: apt-get install docker-compose');
    return;
  }
  const rendered = compose(['config'], envWithout()).stdout;
  assert.match(serviceBlock(rendered, 'migrate'), /DATABASE_URL: postgres:\/\/perennial_owner:compose-test-owner-password@postgres:5432\/perennial/);
  const postgresBlock = serviceBlock(rendered, 'postgres');
  assert.match(postgresBlock, /app-role\.sql/);
  assert.match(postgresBlock, /PERENNIAL_DB_OWNER_PASSWORD: compose-test-owner-password/);
  assert.doesNotMatch(rendered.replace(serviceBlock(rendered, 'migrate'), '').replace(postgresBlock, ''), /perennial_owner|compose-test-owner-password/,
    'no other service knows the owner role');
});

test('docker-compose.yml refuses to render without the admin token or any database password', (t) => {
  if (!dockerComposeInstalled()) {
    t.skip('docker-compose is not installed: apt-get install docker-compose');
    return;
  }
  for (const name of Object.keys(requiredSecrets) as (keyof typeof requiredSecrets)[]) {
    const result = compose(['config', '-q'], envWithout(name));
    assert.notEqual(result.status, 0, `renders without ${name}`);
    assert.match(result.stderr, new RegExp(name));
  }
});

test('the Temporal UI and frontend are published on loopback only, and the UI cannot change workflows', (t) => {
  if (!dockerComposeInstalled()) {
    t.skip('docker-compose is not installed: apt-get install docker-compose');
    return;
  }
  const rendered = compose(['config'], envWithout()).stdout;
  const ui = serviceBlock(rendered, 'temporal-ui');
  assert.match(ui, /TEMPORAL_DISABLE_WRITE_ACTIONS: "true"/);
  for (const name of ['temporal-ui', 'temporal']) {
    const block = serviceBlock(rendered, name);
    // long syntax (host_ip: ...) or short ("- 127.0.0.1:8080:8080/tcp"), as the docker-compose version renders it
    const longForm = [...block.matchAll(/host_ip: (\S+)/g)].map((m) => m[1]);
    const shortForm = [...block.matchAll(/^\s+- "?((?:[^:\s"]+:)?[^:\s"]+:\d+(?:\/\w+)?)"?$/gm)].map((m) => m[1].split(':'))
      .map((parts) => (parts.length === 3 ? parts[0] : '0.0.0.0'));
    const hostIps = [...longForm, ...shortForm];
    assert.ok(hostIps.length > 0, `${name} publishes a port`);
    assert.deepEqual([...new Set(hostIps)], ['127.0.0.1'], `${name} is published on 127.0.0.1 only`);
  }
});

test('the GPU trainer image is built on CUDA 12 with TensorFlow 2.21 from PyPI, and the CPU trainer with native TensorFlow', (t) => {
  const trainerImage = readFileSync(join(repoRoot, 'Dockerfile.trainer'), 'utf8');
  assert.match(trainerImage, /^ARG CUDA_IMAGE=nvidia\/cuda:12\.\d+\.\d+-base-ubuntu\d+\.\d+$/m, 'a CUDA 12 base');
  assert.match(trainerImage, /npm run setup:native -- --gpu/, 'tfjs-node-gpu built on the tensorflow wheel and its nvidia-*-cu12 libraries');
  assert.match(trainerImage, /PERENNIAL_TF_BACKEND=tensorflow-gpu/, 'a trainer that cannot reach its GPU stops instead of training on the CPU');
  assert.doesNotMatch(trainerImage, /cuda:11|cudnn8/, 'nothing of CUDA 11 is left');
  const cpuImage = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  assert.match(cpuImage, /ARG NATIVE_TRAINING=false[\s\S]+npm run setup:native/);
  if (!dockerComposeInstalled()) {
    t.skip('docker-compose is not installed: apt-get install docker-compose');
    return;
  }
  const rendered = compose(['--profile', 'cpu-training', 'config'], envWithout()).stdout;
  assert.match(serviceBlock(rendered, 'trainer-cpu'), /NATIVE_TRAINING: "true"/);
});
