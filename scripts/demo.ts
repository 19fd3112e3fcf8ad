/**
 * `npm run demo` (with `npm start` running in another terminal): the whole loop on real data,
 * vega-datasets' weather.csv (Seattle and New York, 2012-2015).
 *   1. train `weather` on three of every four Seattle days; an approver (a second key) approves it;
 *   2. serve the held-out Seattle days, with their true weather sent back as feedback: the monitor
 *      finds no drift, and its label-free estimate sits beside the measured accuracy;
 *   3. serve New York's days: the monitor reports drift and starts a retraining by itself, once
 *      (asked again, it is held back by the cooldown), which waits for an approver like any pipeline;
 *   4. a nightly retraining schedule beside it, with its next runs.
 * Each step prints its Temporal UI link. Exits 0 when the story ran as told, 1 otherwise.
 * Env: PERENNIAL_API (default http://localhost:3000), PERENNIAL_ADMIN_TOKEN (default .data/admin-token).
 */
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.PERENNIAL_API ?? `http://localhost:${process.env.PORT ?? 3000}`;
const tokenFile = path.join(process.env.PERENNIAL_DATA_DIR ?? '.data', 'admin-token');
const admin = process.env.PERENNIAL_ADMIN_TOKEN || (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '');
const WEATHER = path.resolve(import.meta.dirname, '../node_modules/vega-datasets/data/weather.csv');
let MODEL = process.env.DEMO_MODEL ?? 'weather';
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(token: string, method: string, route: string, body?: unknown, raw?: { body: string; type: string }) {
  const res = await fetch(base + route, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': raw?.type ?? 'application/json' },
    body: raw ? raw.body : body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => { throw new Error(`No Perennial API at ${base}: run \`npm start\` first.`); });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (res.status >= 400) throw new Error(`${method} ${route} -> ${res.status}: ${json.error?.message ?? text}`);
  return json;
}

function check(ok: boolean, what: string) {
  if (!ok) throw new Error(`the story did not go as told: ${what}`);
}

interface Day { location: string; line: string; instance: Record<string, number>; weather: string }

function weatherDays() {
  const [header, ...lines] = fs.readFileSync(WEATHER, 'utf8').trim().split('\n');
  const days: Day[] = lines.map((line) => {
    const [location, , precipitation, tempMax, tempMin, wind, weather] = line.split(',');
    return {
      location, line, weather,
      instance: { precipitation: Number(precipitation), temp_max: Number(tempMax), temp_min: Number(tempMin), wind: Number(wind) },
    };
  });
  return { header, days };
}

async function main() {
  if (!admin) throw new Error(`No admin token: set PERENNIAL_ADMIN_TOKEN or run \`npm start\` once (it writes ${tokenFile}).`);
  const t0 = Date.now();
  const stamp = Date.now().toString(36);
  const operator = (await call(admin, 'POST', '/v1/api-keys', { name: `demo-operator-${stamp}`, role: 'operator' })).token;
  const approver = (await call(admin, 'POST', '/v1/api-keys', { name: `demo-approver-${stamp}`, role: 'approver' })).token;
  console.log('1. keys: an operator who starts, an approver who approves (four eyes)');
  const taken = await call(operator, 'GET', `/v1/models/${MODEL}`).then(() => true, () => false);
  if (taken) {
    MODEL = `${MODEL}-${stamp}`;
    console.log(`   (a model named weather exists here already: this run's model is ${MODEL})`);
  }

  const { header, days } = weatherDays();
  const seattle = days.filter((d) => d.location === 'Seattle');
  const training = seattle.filter((_, i) => i % 4 !== 0);
  const heldOut = seattle.filter((_, i) => i % 4 === 0);
  const newYork = days.filter((d) => d.location === 'New York');
  const csv = [header, ...training.map((d) => d.line)].join('\n') + '\n';
  const uploaded = await call(operator, 'POST', '/v1/datasets?name=seattle-training&format=csv', undefined, { body: csv, type: 'text/csv' });
  console.log(`   uploaded ${uploaded.rows} Seattle days (three of every four) as ${uploaded.uri.slice(0, 22)}…`);

  const started = await call(operator, 'POST', '/v1/pipelines', {
    model: MODEL, dataset: { uri: uploaded.uri }, target: 'weather', features: FEATURES,
    // the monitor checks every hour by itself; the demo asks it to check now
    monitor: { interval: '1h', window: '24h', minRows: 100, minLabels: 50, cooldown: '24h' },
  });
  console.log(`   training ${started.id}\n     ${started.temporalUiUrl}`);
  let p = await waitWhile(operator, started.id, (x) => x.status === 'running');
  check(p.status === 'awaiting_approval', `the first pipeline should await approval, not be ${p.status} (${p.reason ?? p.error ?? ''})`);
  console.log(`   v${p.modelVersion} awaits approval: accuracy ${p.metrics.accuracy.toFixed(3)} on held-out rows; it serves as it evaluated (${p.servability?.instances} instances checked)`);
  await call(approver, 'POST', `/v1/pipelines/${started.id}/approve`, { comment: 'approved by npm run demo' });
  p = await waitWhile(operator, started.id, (x) => x.status === 'running' || x.status === 'awaiting_approval');
  check(p.status === 'completed', `the first pipeline should complete, not be ${p.status}`);
  const monitor = await waitFor(operator, `/v1/models/${MODEL}/monitor`);
  console.log(`   approved: v${p.modelVersion} in production, watched by ${monitor.workflowId}\n     ${monitor.temporalUiUrl}`);

  console.log(`\n2. serving the ${heldOut.length} held-out Seattle days, their true weather sent back as feedback`);
  await serve(operator, heldOut, true);
  const calm = await call(operator, 'POST', `/v1/models/${MODEL}/monitor/check`);
  printReport(calm);
  check(!calm.datasetDrift && calm.action === 'none', 'the held-out Seattle days should raise no drift');

  console.log(`\n3. serving ${newYork.length} New York days: another city's weather`);
  // the window: New York's traffic alone (the monitor's window is time; the demo narrows it to the last seconds)
  await sleep(10_000);
  const since = Date.now();
  await serve(operator, newYork, false);
  // (reaching 8 s before New York's first request, within the 10 s pause: room for a slow check to start)
  const window = `${Math.ceil((Date.now() - since) / 1000) + 8}s`;
  await call(operator, 'PUT', `/v1/models/${MODEL}/monitor`, { window });
  const drift = await call(operator, 'POST', `/v1/models/${MODEL}/monitor/check`);
  printReport(drift);
  check(drift.datasetDrift && (drift.action === 'retraining_started' || drift.action === 'retraining_running'), 'New York should raise drift and a retraining');
  const again = await call(operator, 'POST', `/v1/models/${MODEL}/monitor/check`);
  console.log(`   checked again at once: ${again.action} (no second retraining)`);
  check(again.action !== 'retraining_started', 'a second check must not start a second retraining');
  await call(operator, 'PUT', `/v1/models/${MODEL}/monitor`, { window: '24h' });

  const retraining = await waitWhile(operator, drift.pipelineId, (x) => x.status === 'running', 'the retraining');
  console.log(`   the retraining ${retraining.id} (trigger ${JSON.stringify(retraining.trigger)})`);
  console.log(`     ${retraining.temporalUiUrl}`);
  console.log(`   it ${retraining.status === 'awaiting_approval' ? 'awaits an approver, like any pipeline' : `ended ${retraining.status} (${retraining.reason ?? ''})`}`);
  const all = (await call(operator, 'GET', `/v1/pipelines?model=${MODEL}&limit=100`)).items.filter((x: any) => x.trigger?.kind === 'drift' && x.trigger.reportId === drift.id);
  check(all.length === 1, `exactly one retraining for the drift report, not ${all.length}`);

  console.log('\n4. a nightly retraining schedule beside it');
  const id = `${MODEL}-nightly-${stamp}`;
  try {
    const schedule = await call(operator, 'POST', '/v1/schedules', {
      id, cron: '0 3 * * *', pipeline: { model: MODEL, dataset: { uri: uploaded.uri }, target: 'weather', features: FEATURES },
    });
    console.log(`   ${schedule.id}: ${schedule.cron}; next runs ${(schedule.nextRuns ?? []).slice(0, 3).join(', ')}`);
    if (schedule.temporalUiUrl) console.log(`     ${schedule.temporalUiUrl}`);
  } finally {
    // the demo's schedule is shown, not left to run every night
    await call(operator, 'DELETE', `/v1/schedules/${id}`).catch(() => undefined);
  }
  console.log(`\nthe loop ran in ${((Date.now() - t0) / 1000).toFixed(1)} s: approve or reject ${drift.pipelineId} as ${'`'}POST /v1/pipelines/:id/approve${'`'} with an approver key`);
}

async function serve(token: string, selected: Day[], feedback: boolean) {
  for (let i = 0; i < selected.length; i += 50) {
    const batch = selected.slice(i, i + 50);
    const answer = await call(token, 'POST', `/v1/models/${MODEL}:predict`, { instances: batch.map((d) => d.instance) });
    if (feedback) {
      await call(token, 'POST', '/v1/feedback', { items: answer.predictionIds.map((id: string, k: number) => ({ predictionId: id, label: batch[k].weather })) });
    }
  }
}

function printReport(r: any) {
  console.log(`   drift report ${r.id}: ${r.rows} predictions against ${r.reference.rows} training rows (${r.tests} thresholds)`);
  for (const f of r.features) {
    console.log(`     ${f.name.padEnd(14)} ${f.test} ${f.statistic.toFixed(3)} (threshold ${f.threshold.toFixed(3)})  KS p ${f.ks.pValue.toExponential(1)}  PSI ${f.psi.toFixed(3)}${f.drifted ? '  DRIFTED' : ''}`);
  }
  if (r.prediction) console.log(`     predictions    ${r.prediction.test} ${r.prediction.statistic.toFixed(3)} (threshold ${r.prediction.threshold.toFixed(3)})${r.prediction.drifted ? '  DRIFTED' : ''}`);
  if (r.performance) console.log(`     accuracy on ${r.performance.labels} labels ${r.performance.accuracy.toFixed(3)} (evaluation ${r.performance.expected?.toFixed(3)})`);
  if (r.estimated) console.log(`     estimated without labels (CBPE) ${r.estimated.accuracy.toFixed(3)} [${r.estimated.lower.toFixed(3)}, ${r.estimated.upper.toFixed(3)}]`);
  console.log(`   dataset drift: ${r.datasetDrift} (${Math.round(r.driftShare * 100)}% of features); action: ${r.action}${r.reason ? ` (${r.reason})` : ''}`);
}

async function waitWhile(token: string, id: string, pending: (p: any) => boolean, what = 'the pipeline') {
  let lastStage = '';
  for (;;) {
    const p = await call(token, 'GET', `/v1/pipelines/${id}`).catch((err) => (/-> 404/.test(err.message) ? null : Promise.reject(err)));
    if (p && !pending(p)) return p;
    if (p && p.stage !== lastStage) console.log(`     ${what}: ${(lastStage = p.stage)}`);
    await sleep(300);
  }
}

async function waitFor(token: string, route: string) {
  for (let i = 0; ; i++) {
    try {
      return await call(token, 'GET', route);
    } catch (err) {
      if (i > 100) throw err;
      await sleep(300);
    }
  }
}

main().catch((err) => { console.error(err.message); process.exit(1); });
