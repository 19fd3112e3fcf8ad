/**
 * A monitoring window: the model's logged predictions of the last `window` (at most the newest
 * MAX_WINDOW_ROWS), read page by page into typed columns. The database extracts each feature from
 * the JSON (feature names travel as parameters, never as SQL), so a page is a few thousand short
 * rows and a million-row window is never one array of objects: numeric features land in typed
 * arrays, categorical ones in a tally of their categories. Performance on labelled feedback is
 * one aggregate query where the data is.
 */
import { and, desc, eq, gte, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { feedback, predictions } from '../db/schema';
import type { DriftColumns } from '../ml/drift-check';
import type { FeatureKind } from './drift-reference';

export const MAX_WINDOW_ROWS = 1_000_000;
const PAGE_ROWS = 20_000;

export interface WindowRequest {
  model: string;
  version: number;
  start: Date;
  end: Date;
  kinds: Record<string, FeatureKind>;
  task: 'classification' | 'regression';
  /** class labels in probability order, to collect the production version's probabilities (CBPE) */
  classes?: string[];
}

export interface WindowColumns {
  /** inputs of every answered prediction (production and canary; shadows repeat a production input) */
  features: DriftColumns;
  /** the production version's answers, under the name "prediction" */
  prediction: DriftColumns;
  /** the production version's class probabilities, row-major over `classes` (classifiers) */
  probabilities: Float64Array | null;
  probabilityRows: number;
}

class Float64Builder {
  private values: Float64Array;
  length = 0;
  constructor(capacity: number) { this.values = new Float64Array(capacity); }
  push(v: number) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(Math.max(16, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = v;
  }
  view(): Float64Array { return this.values.subarray(0, this.length); }
}

const parseNumber = (text: string | null): number => {
  if (text === null || text === '') return NaN;
  const v = Number(text);
  return Number.isFinite(v) && Math.abs(v) < 1e150 ? v : NaN;
};

function inWindow(r: WindowRequest): SQL {
  return and(eq(predictions.modelName, r.model), gte(predictions.createdAt, r.start), lt(predictions.createdAt, r.end), ne(predictions.role, 'shadow'))!;
}

/** How many rows the window holds (at most MAX_WINDOW_ROWS are read). */
export async function countWindow(db: Db, r: WindowRequest): Promise<number> {
  const [{ n }] = await db.select({ n: sql<number>`count(*)::int` }).from(predictions).where(inWindow(r));
  return Math.min(Number(n), MAX_WINDOW_ROWS);
}

export async function readWindow(db: Db, r: WindowRequest, rows: number): Promise<WindowColumns> {
  const names = Object.keys(r.kinds).filter((n) => r.kinds[n] !== 'skipped');
  const numeric = new Map(names.filter((n) => r.kinds[n] === 'numeric').map((n) => [n, new Float64Builder(rows)]));
  // categorical features are tallied as they are read: a million rows of a few categories are a few counts
  const categorical = new Map(names.filter((n) => r.kinds[n] === 'categorical').map((n) => [n, new Map<string, number>()]));
  const tally = (m: Map<string, number>, text: string) => m.set(text, (m.get(text) ?? 0) + 1);
  const predicted = r.task === 'regression' ? new Float64Builder(rows) : null;
  const labels = new Map<string, number>();
  let labelled = 0;
  const classes = r.classes ?? [];
  const probabilities = r.task === 'classification' && classes.length ? new Float64Builder(rows * classes.length) : null;
  let probabilityRows = 0;

  const fields: Record<string, SQL> = Object.fromEntries(names.map((n, i) => [`f${i}`, sql`${predictions.features}->>${n}`]));
  let cursor: { at: Date; id: string } | null = null;
  let read = 0;
  while (read < rows) {
    const after: SQL | undefined = cursor
      ? or(lt(predictions.createdAt, cursor.at), and(eq(predictions.createdAt, cursor.at), lt(predictions.id, cursor.id)))
      : undefined;
    const page = await db.select({
      id: predictions.id, at: predictions.createdAt, version: predictions.version, label: predictions.label, value: predictions.value,
      probabilities: sql<Record<string, number> | null>`${predictions.output}->'probabilities'`, ...fields,
    }).from(predictions).where(and(inWindow(r), after)).orderBy(desc(predictions.createdAt), desc(predictions.id))
      .limit(Math.min(PAGE_ROWS, rows - read)) as ({ id: string; at: Date; version: number; label: string | null; value: number | null;
        probabilities: Record<string, number> | null } & Record<string, unknown>)[];
    if (page.length === 0) break;
    for (const row of page) {
      names.forEach((n, i) => {
        const text = row[`f${i}`] as string | null;
        if (text === null) return;
        const builder = numeric.get(n);
        if (builder) {
          const v = parseNumber(text);
          if (!Number.isNaN(v)) builder.push(v);
        } else tally(categorical.get(n)!, text);
      });
      if (row.version !== r.version) continue;
      if (predicted && row.value !== null && Number.isFinite(row.value)) predicted.push(row.value);
      if (!predicted && row.label !== null) {
        tally(labels, row.label);
        labelled++;
      }
      const p = row.probabilities;
      if (probabilities && p && typeof p === 'object') {
        const values = classes.map((c) => Number(p[c]));
        if (values.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)) {
          for (const v of values) probabilities.push(v);
          probabilityRows++;
        }
      }
    }
    read += page.length;
    const last = page[page.length - 1];
    cursor = { at: last.at, id: last.id };
  }
  return {
    features: {
      rows: read,
      // the builders hold finite values only: sorted where they lie
      numeric: Object.fromEntries([...numeric].map(([n, b]) => [n, b.view().sort()])),
      categorical: Object.fromEntries(categorical),
    },
    prediction: predicted
      ? { rows: predicted.length, numeric: { prediction: predicted.view().sort() }, categorical: {} }
      : { rows: labelled, numeric: {}, categorical: { prediction: labels } },
    probabilities: probabilities ? probabilities.view().slice() : null,
    probabilityRows,
  };
}

/** The production version's answers in the window that have a label: accuracy (classifiers) or MAE (regression). */
export async function windowPerformance(db: Db, r: WindowRequest): Promise<{ labels: number; accuracy?: number; mae?: number }> {
  const [row] = await db.select({
    labels: sql<number>`count(*)::int`,
    accuracy: sql<number | null>`avg(case when ${predictions.label} = ${feedback.label} then 1.0 else 0.0 end)::float8`,
    mae: sql<number | null>`avg(abs(${predictions.value} - ${feedback.value}))::float8`,
  }).from(predictions).innerJoin(feedback, eq(feedback.predictionId, predictions.id))
    .where(and(inWindow(r), eq(predictions.version, r.version),
      r.task === 'classification' ? sql`${feedback.label} is not null` : sql`${feedback.value} is not null`));
  const labels = Number(row?.labels ?? 0);
  if (!labels) return { labels: 0 };
  return r.task === 'classification' ? { labels, accuracy: Number(row.accuracy) } : { labels, mae: Number(row.mae) };
}
