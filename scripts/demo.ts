/**
 * `npm run demo` (with `npm start` running in another terminal): the README walk-through, done for
 * you. Two keys (an operator who starts, an approver who approves), the weather pipeline on
 * seattle-weather.csv, the approval, and the model in production with its lineage.
 * Env: PERENNIAL_API (default http://localhost:3000), PERENNIAL_ADMIN_TOKEN (default .data/admin-token).
 */
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.PERENNIAL_API ?? `http://localhost:${process.env.PORT ?? 3000}`;
const tokenFile = path.join(process.env.PERENNIAL_DATA_DIR ?? '.data', 'admin-token');
const admin = process.env.PERENNIAL_ADMIN_TOKEN || (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '');
const dataset = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv');

async function call(token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(base + route, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  }).catch(() => { throw new Error(`No Perennial API at ${base}: run \`npm start\` first.`); });
  const json = await res.json() as any;
  if (res.status >= 400) throw new Error(`${method} ${route} -> ${res.status}: ${json.error?.message}`);
  return json;
}

async function main() {
  if (!admin) throw new Error(`No admin token: set PERENNIAL_ADMIN_TOKEN or run \`npm start\` once (it writes ${tokenFile}).`);
  const stamp = Date.now().toString(36);
  const operator = (await call(admin, 'POST', '/v1/api-keys', { name: `demo-operator-${stamp}`, role: 'operator' })).token;
  const approver = (await call(admin, 'POST', '/v1/api-keys', { name: `demo-approver-${stamp}`, role: 'approver' })).token;
  console.log('created an operator key and an approver key');

  const started = await call(operator, 'POST', '/v1/pipelines', { model: 'weather', dataset: { uri: dataset }, target: 'weather' });
  console.log(`started ${started.id}\n  watch it: ${started.temporalUiUrl}`);
  let p: any;
  let lastStage = '';
  do {
    await new Promise((r) => setTimeout(r, 300));
    p = await call(operator, 'GET', `/v1/pipelines/${started.id}`);
    if (p.stage !== lastStage) console.log(`  stage: ${(lastStage = p.stage)}`);
  } while (p.status === 'running');
  console.log(`status: ${p.status}; version ${p.modelVersion}; metrics ${JSON.stringify(p.metrics)}`);
  if (p.status !== 'awaiting_approval') return;

  await call(approver, 'POST', `/v1/pipelines/${started.id}/approve`, { comment: 'approved by npm run demo' });
  do {
    await new Promise((r) => setTimeout(r, 300));
    p = await call(operator, 'GET', `/v1/pipelines/${started.id}`);
  } while (p.status === 'running');
  const model = await call(operator, 'GET', '/v1/models/weather');
  const v = model.versions.find((x: any) => x.version === model.productionVersion);
  console.log(`approved -> pipeline ${p.status}; weather v${model.productionVersion} is in production`);
  console.log(`  lineage: dataset ${v.datasetHash.slice(0, 12)}…, pipeline ${v.pipelineId}, approved by ${v.approvedBy}, backend ${v.backend}`);
}

main().catch((err) => { console.error(err.message); process.exit(1); });
