/** The drift check on real data: vega-datasets' weather.csv, Seattle as the reference (2012-2015, 1,461 days). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DriftReportCoreSchema, type DriftReportCore } from '../../common/drift-report';
import { mulberry32 } from '../../common/random';
import {
  CALIBRATION_SKETCH_POINTS, calibrateBase, calibrateThresholds, calibrationSampleRows, checkDrift, MAX_CALIBRATION_SAMPLE, quantileSketch,
  thresholdsFor, type CalibratedThresholds, type DriftColumns,
} from '../../ml/drift-check';
import { tallyOf, wassersteinNormed } from '../../ml/drift-stats';
import { sortedFloat64 } from '../../ml/drift-stats';

interface Day { location: string; year: number; numeric: Record<string, number>; weather: string }
const numericNames = ['precipitation', 'temp_max', 'temp_min', 'wind'];

function readWeather(): Day[] {
  const text = fs.readFileSync(path.join(import.meta.dirname, '../../node_modules/vega-datasets/data/weather.csv'), 'utf8');
  const [header, ...lines] = text.trim().split('\n');
  assert.equal(header, 'location,date,precipitation,temp_max,temp_min,wind,weather');
  assert.ok(!text.includes('"'), 'no quoted fields, so a plain split is a full parse');
  return lines.map((line) => {
    const [location, date, precipitation, tempMax, tempMin, wind, weather] = line.split(',');
    return {
      location, year: Number(date.slice(0, 4)), weather,
      numeric: { precipitation: Number(precipitation), temp_max: Number(tempMax), temp_min: Number(tempMin), wind: Number(wind) },
    };
  });
}

function columns(days: Day[]): DriftColumns {
  return {
    rows: days.length,
    numeric: Object.fromEntries(numericNames.map((n) => [n, sortedFloat64(days.map((d) => d.numeric[n]))])),
    categorical: { weather: days.map((d) => d.weather) },
  };
}

/** k rows drawn without replacement (partial Fisher-Yates). */
function randomRows<T>(rows: T[], k: number, rand: () => number): T[] {
  const copy = [...rows];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

const days = readWeather();
const seattle = days.filter((d) => d.location === 'Seattle');
const newYork2015 = days.filter((d) => d.location === 'New York' && d.year === 2015);
const reference = columns(seattle);
const CALIBRATION_SEED = 11;
const WINDOW_SEED = 20240601;
const driftShare = 0.5;

function drifted(report: DriftReportCore): string[] {
  return report.features.filter((f) => f.drifted).map((f) => f.name);
}

test('the weather data: 1,461 Seattle days as the reference, 365 New York days of 2015', () => {
  assert.equal(seattle.length, 1461);
  assert.equal(newYork2015.length, 365);
  for (const n of numericNames) assert.equal(reference.numeric[n].length, 1461, `${n} has a value every day`);
});

const thresholds365: CalibratedThresholds = calibrateThresholds(reference, 365, { seed: CALIBRATION_SEED });

test('calibrating 100 resamples of 365 rows from the 1,461-row reference gives a positive threshold per feature, the same for the same seed', () => {
  console.log(`thresholds for 365-row windows: ${JSON.stringify(thresholds365.features)}`);
  assert.deepEqual(Object.keys(thresholds365.features).sort(), [...numericNames, 'weather'].sort());
  for (const [name, t] of Object.entries(thresholds365.features)) assert.ok(t > 0 && t < 1, `${name}: ${t}`);
  assert.deepEqual(calibrateThresholds(reference, 365, { seed: CALIBRATION_SEED }), thresholds365);
  assert.notDeepEqual(calibrateThresholds(reference, 365, { seed: CALIBRATION_SEED + 1 }).features, thresholds365.features);
});

test('calibration refuses fewer than 100 resamples and, at or above the reference size, samples with replacement (thresholds above 0)', () => {
  assert.throws(() => calibrateThresholds(reference, 365, { seed: 1, resamples: 99 }), RangeError);
  assert.throws(() => calibrateThresholds(reference, 0, { seed: 1 }), RangeError);
  const whole = calibrateThresholds(reference, 1461, { seed: CALIBRATION_SEED });
  for (const [name, t] of Object.entries(whole.features)) assert.ok(t > 0, `${name}: ${t}`);
});

test('a window over 5,000 rows is calibrated once at 5,000 and scaled: thresholds shrink as the window grows, never below the reference\'s own sampling error', () => {
  const base = calibrateBase(reference, calibrationSampleRows(1_000_000), { seed: CALIBRATION_SEED });
  assert.equal(base.sampleRows, MAX_CALIBRATION_SAMPLE);
  assert.deepEqual(calibrateThresholds(reference, 1_000_000, { seed: CALIBRATION_SEED }), thresholdsFor(base, 1_000_000));
  const [at10k, at1m] = [thresholdsFor(base, 10_000), thresholdsFor(base, 1_000_000)];
  for (const name of Object.keys(base.features)) {
    assert.ok(at1m.features[name] < at10k.features[name], name);
    // a huge window still differs from a 1,461-row reference by the reference's own sampling error
    const floor = base.features[name].score * Math.sqrt(MAX_CALIBRATION_SAMPLE / 1461);
    assert.ok(at1m.features[name] >= floor, `${name}: ${at1m.features[name]} >= ${floor}`);
  }
});

test('New York 2015 against the Seattle reference: dataset drift, temperatures drifted, every statistic present and finite', () => {
  const report = checkDrift(reference, columns(newYork2015), { tests: 'calibrated', driftShare, thresholds: thresholds365 });
  console.log(`New York 2015 vs Seattle (calibrated): drifted ${drifted(report).join(', ')}; share ${report.driftShare}`);
  assert.equal(report.datasetDrift, true);
  assert.equal(report.rows, 365);
  assert.deepEqual(report.reference, { rows: 1461 });
  assert.deepEqual(report.skipped, []);
  assert.deepEqual(report.features.map((f) => f.name), ['precipitation', 'temp_max', 'temp_min', 'weather', 'wind']);
  for (const f of report.features) {
    if (f.kind === 'numeric') {
      assert.equal(f.test, 'wasserstein');
      for (const v of [f.ks.statistic, f.ks.pValue, f.psi, f.wasserstein]) assert.ok(Number.isFinite(v), `${f.name}: ${v}`);
    } else {
      assert.equal(f.test, 'jensenShannon');
      for (const v of [f.jensenShannon, f.chiSquare.statistic, f.chiSquare.pValue]) assert.ok(Number.isFinite(v), `${f.name}: ${v}`);
    }
    assert.equal(f.threshold, thresholds365.features[f.name]);
  }
  for (const name of ['temp_max', 'temp_min']) assert.ok(report.features.find((f) => f.name === name)!.drifted, `${name} drifted`);
  assert.deepEqual(DriftReportCoreSchema.parse(JSON.parse(JSON.stringify(report))), report);
});

test('20 random 365-row windows of the Seattle reference itself: the calibrated rule raises at most 1 false alarm, and no more than Evidently\'s fixed rule', () => {
  const rand = mulberry32(WINDOW_SEED);
  let [calibratedAlarms, evidentlyAlarms, calibratedFeatureAlarms, evidentlyFeatureAlarms] = [0, 0, 0, 0];
  for (let w = 0; w < 20; w++) {
    const window = columns(randomRows(seattle, 365, rand));
    const calibrated = checkDrift(reference, window, { tests: 'calibrated', driftShare, thresholds: thresholds365 });
    const evidently = checkDrift(reference, window, { tests: 'evidently', driftShare });
    calibratedAlarms += Number(calibrated.datasetDrift);
    evidentlyAlarms += Number(evidently.datasetDrift);
    calibratedFeatureAlarms += drifted(calibrated).length;
    evidentlyFeatureAlarms += drifted(evidently).length;
  }
  console.log(`false alarms over 20 windows of 365 Seattle rows: calibrated ${calibratedAlarms} dataset (${calibratedFeatureAlarms} of 100 feature checks), evidently ${evidentlyAlarms} dataset (${evidentlyFeatureAlarms} of 100 feature checks)`);
  assert.ok(calibratedAlarms <= 1, `calibrated dataset-drift alarms: ${calibratedAlarms}`);
  assert.ok(calibratedAlarms <= evidentlyAlarms);
  assert.ok(calibratedFeatureAlarms <= evidentlyFeatureAlarms);
});

test('Seattle 2015 against Seattle 2012-2014: both rules find dataset drift in temperatures and weather, not wind; only Evidently\'s fixed 0.1 also flags precipitation; Evidently mode judges Jensen-Shannon in base e as Evidently does', () => {
  const earlier = columns(seattle.filter((d) => d.year < 2015));
  const later = columns(seattle.filter((d) => d.year === 2015));
  const thresholds = calibrateThresholds(earlier, later.rows, { seed: CALIBRATION_SEED });
  const calibrated = checkDrift(earlier, later, { tests: 'calibrated', driftShare, thresholds });
  const evidently = checkDrift(earlier, later, { tests: 'evidently', driftShare });
  const show = (r: DriftReportCore) => r.features.map((f) => `${f.name} ${f.statistic.toFixed(3)}/${f.threshold.toFixed(3)}${f.drifted ? ' drifted' : ''}`).join('; ');
  console.log(`Seattle 2015 vs 2012-2014, calibrated: ${show(calibrated)}; dataset drift ${calibrated.datasetDrift}`);
  console.log(`Seattle 2015 vs 2012-2014, evidently: ${show(evidently)}; dataset drift ${evidently.datasetDrift}`);
  assert.equal(earlier.rows, 1096);
  assert.ok(evidently.features.every((f) => f.test === 'wasserstein' || f.test === 'jensenShannon'), 'reference over 1,000 rows: distances');
  // Seattle's 2015 ran warmer (mean temp_max 17.4 against 16.1 in 2012-2014): both rules see temperatures, rain and weather move, not the wind
  // precipitation scores 0.102: past Evidently's 0.1, within what two independent years of the same weather reach (calibrated ~0.13)
  assert.equal(calibrated.datasetDrift, true);
  assert.deepEqual(drifted(calibrated), ['temp_max', 'temp_min', 'weather']);
  assert.equal(evidently.datasetDrift, true);
  assert.deepEqual(drifted(evidently), ['precipitation', 'temp_max', 'temp_min', 'weather']);
  // Evidently's Jensen-Shannon is scipy's in base e; the report's jensenShannon field stays base 2
  const weather = evidently.features.find((f) => f.name === 'weather')!;
  assert.equal(weather.kind, 'categorical');
  if (weather.kind === 'categorical') assert.ok(Math.abs(weather.statistic - weather.jensenShannon * Math.sqrt(Math.LN2)) < 1e-12);
});

test('Evidently mode with a reference of at most 1,000 rows decides by KS and chi-squared p-values below 0.05', () => {
  const small = columns(seattle.filter((d) => d.year === 2012));
  const report = checkDrift(small, columns(newYork2015), { tests: 'evidently', driftShare });
  for (const f of report.features) {
    assert.equal(f.test, f.kind === 'numeric' ? 'ks' : 'chiSquare');
    assert.equal(f.threshold, 0.05);
    const pValue = f.kind === 'numeric' ? f.ks.pValue : f.chiSquare.pValue;
    assert.equal(f.statistic, pValue);
    assert.equal(f.drifted, pValue < 0.05);
  }
});

test('a reference over 50,000 values is calibrated through its quantile sketch, whose distance to it is far below the scores drawn', () => {
  // a shape no file here has at this size: 200,000 draws of a skewed distribution (seeded)
  const rand = mulberry32(7);
  const big = Float64Array.from({ length: 200_000 }, () => -Math.log(1 - rand()) * 3 + Math.floor(rand() * 4)).sort();
  const sketch = quantileSketch(big, CALIBRATION_SKETCH_POINTS);
  assert.equal(sketch.length, CALIBRATION_SKETCH_POINTS);
  const base = calibrateBase({ numeric: { x: big }, categorical: {} }, MAX_CALIBRATION_SAMPLE, { seed: CALIBRATION_SEED });
  const error = wassersteinNormed(big, sketch);
  assert.ok(error < base.features.x.score / 100, `sketch error ${error} against a 99th-percentile score of ${base.features.x.score}`);
});

test('a categorical feature given as the tally of its categories gives the same thresholds and report as its values', () => {
  const tallied = (c: DriftColumns): DriftColumns => ({ ...c, categorical: { weather: tallyOf(c.categorical.weather) } });
  const window = columns(newYork2015);
  assert.deepEqual(calibrateThresholds(tallied(reference), 365, { seed: CALIBRATION_SEED }), thresholds365);
  assert.deepEqual(checkDrift(tallied(reference), tallied(window), { tests: 'calibrated', driftShare, thresholds: thresholds365 }),
    checkDrift(reference, window, { tests: 'calibrated', driftShare, thresholds: thresholds365 }));
});

test('a category the reference never saw: chi-square statistic null (Infinity) with p-value 0, and the report survives JSON and the schema', () => {
  const window = columns(newYork2015.slice(0, 30));
  window.categorical.weather = [...(window.categorical.weather as string[]).slice(0, 25), 'hail', 'hail', 'hail', 'hail', 'hail'];
  const report = checkDrift(reference, window, { tests: 'calibrated', driftShare, thresholds: thresholds365 });
  const weather = report.features.find((f) => f.name === 'weather');
  assert.ok(weather?.kind === 'categorical');
  assert.deepEqual(weather.chiSquare, { statistic: null, pValue: 0 });
  const text = JSON.stringify(report);
  assert.ok(!text.includes('Infinity') && !text.includes('NaN'));
  assert.deepEqual(DriftReportCoreSchema.parse(JSON.parse(text)), report);
});

test('features absent, empty or of another kind on one side are skipped with a reason and left out of the share; a window with nothing to compare is refused', () => {
  const window = columns(newYork2015);
  delete window.numeric.wind;
  window.numeric.temp_min = new Float64Array(0);
  window.numeric.humidity = sortedFloat64([0.5, 0.6]);
  window.categorical.precipitation = window.categorical.weather;
  delete window.numeric.precipitation;
  const report = checkDrift(reference, window, { tests: 'evidently', driftShare });
  assert.deepEqual(report.skipped, [
    { name: 'humidity', reason: 'not in the reference' },
    { name: 'precipitation', reason: 'numeric in the reference, categorical in the window' },
    { name: 'temp_min', reason: 'no values in the window' },
    { name: 'wind', reason: 'not in the window' },
  ]);
  assert.deepEqual(report.features.map((f) => f.name), ['temp_max', 'weather']);
  assert.equal(report.driftShare, report.features.filter((f) => f.drifted).length / 2);

  const empty: DriftColumns = { rows: 0, numeric: Object.fromEntries(numericNames.map((n) => [n, new Float64Array(0)])), categorical: { weather: [] } };
  assert.throws(() => checkDrift(reference, empty, { tests: 'evidently', driftShare }), /no feature has values/);
  assert.throws(() => checkDrift(reference, columns(newYork2015), { tests: 'calibrated', driftShare }), /needs thresholds/);
});
