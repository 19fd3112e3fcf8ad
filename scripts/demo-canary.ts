/**
 * `npm run demo:canary` (with `npm start` running in another terminal): the canary walk-through, done for
 * you. Two keys (an operator who starts, an approver who approves), the weather pipeline on
 * seattle-weather.csv, the approval, and the model in production with its lineage; then a second
 * version rolled out as a canary under live prediction traffic with feedback, judged and promoted
 * (or rolled back) on its own.
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

  // a second version, rolled out as a canary: 25 % then 50 % of live traffic, judged against production
  const prediction = await call(operator, 'POST', '/v1/models/weather:predict', { instances: [{ date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 }] });
  console.log(`\npredict -> ${prediction.predictions[0].label} from v${prediction.modelVersion}`);
  const second = await call(operator, 'POST', '/v1/pipelines', {
    model: 'weather', dataset: { uri: dataset }, target: 'weather', training: { seed: 7 },
    canary: { steps: [25, 50], stepDuration: '5s', minRequests: 20, minLabels: 20 },
  });
  console.log(`started ${second.id} with a canary`);
  do {
    await new Promise((r) => setTimeout(r, 300));
    p = await call(operator, 'GET', `/v1/pipelines/${second.id}`);
  } while (p.status === 'running');
  if (p.status !== 'awaiting_approval') return console.log(`status: ${p.status} ${p.reason ?? ''}`);
  await call(approver, 'POST', `/v1/pipelines/${second.id}/approve`, { comment: 'canary it' });
  console.log(`approved v${p.modelVersion}: live traffic (real days, with the true weather sent back as feedback) while the canary runs`);
  const [header, ...lines] = fs.readFileSync(dataset, 'utf8').trim().split('\n');
  const cols = header.split(',');
  const days = lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i], i === 0 || i === 5 ? c : Number(c)])));
  let lastStep = '';
  for (let i = 0; p.status === 'running' || p.status === 'awaiting_approval'; i++) {
    const batch = Array.from({ length: 5 }, (_, k) => days[(i * 5 + k * 131) % days.length]);
    const answer = await call(operator, 'POST', '/v1/models/weather:predict', { instances: batch.map(({ weather: _w, ...x }) => x) });
    await call(operator, 'POST', '/v1/feedback', { items: answer.predictionIds.map((id: string, k: number) => ({ predictionId: id, label: batch[k].weather })) });
    if (i % 10 === 0) {
      p = await call(operator, 'GET', `/v1/pipelines/${second.id}`);
      const step = p.canary && 'step' in p.canary ? `stage ${p.stage}, canary step ${p.canary.step}: ${p.canary.trafficPercent} %` : `stage ${p.stage}`;
      if (step !== lastStep) console.log(`  ${(lastStep = step)}`);
    }
  }
  for (const a of p.canary?.analyses ?? []) {
    console.log(`  analysis: canary ${a.canary.requests} requests, accuracy on feedback ${a.canary.feedbackScore?.toFixed(3)} vs production ${a.production.feedbackScore?.toFixed(3)}; ${a.passed ? 'passed' : `failed: ${a.failures.join('; ')}`}`);
  }
  const after = await call(operator, 'GET', '/v1/models/weather');
  console.log(`canary ${p.canary?.outcome ?? p.status} (${p.canary?.reason ?? p.reason}); pipeline ${p.status}; production is v${after.productionVersion}`);
}

main().catch((err) => { console.error(err.message); process.exit(1); });
