/** A model card per version: what it is for, what it learned from, how it was judged, who let it out. */
import type { datasets, modelVersions } from '../db/schema';
import { mdCode, mdLines, mdText } from './markdown';

type VersionRow = typeof modelVersions.$inferSelect;
type DatasetRow = typeof datasets.$inferSelect;

export function modelCard(v: VersionRow, d: DatasetRow | undefined) {
  const { evaluation } = v;
  return {
    model: v.modelName,
    version: v.version,
    status: v.status,
    task: v.task,
    intendedUse: v.intendedUse ?? null,
    data: {
      datasetHash: v.datasetHash,
      source: d?.sourceUri ?? null,
      format: d?.format ?? null,
      rows: d?.rows ?? null,
      duplicateRows: d?.statistics.duplicateRows ?? null,
      schema: d?.schema.map((c) => ({ name: c.name, kind: c.kind, type: c.type })) ?? [],
      target: v.target,
      features: v.features,
    },
    parameters: v.params,
    training: { backend: v.backend, ...v.training },
    evaluation: {
      heldOutRows: evaluation.rows ?? null,
      metrics: v.metrics,
      perClass: evaluation.perClass ?? null,
      confusionMatrix: evaluation.confusionMatrix ?? null,
      slices: evaluation.slices ?? null,
    },
    featureImportance: evaluation.importance ?? null,
    fairness: evaluation.fairness ?? null,
    comparisonWithProduction: evaluation.championMetrics
      ? { productionVersion: evaluation.championVersion ?? null, productionMetrics: evaluation.championMetrics, primaryMetric: evaluation.primaryMetric }
      : null,
    lineage: {
      pipelineId: v.pipelineId, workflowRunId: v.workflowRunId, codeVersion: v.codeVersion,
      approvedBy: v.approvedBy, approvedAt: v.approvedAt?.toISOString() ?? null, createdAt: v.createdAt.toISOString(),
    },
  };
}
export type ModelCard = ReturnType<typeof modelCard>;

/** a number as the card shows it, or any other value as escaped inline text */
const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(4)) : x === null || x === undefined ? '—' : mdText(x));
/** a table row of cells, each escaped (fmt) */
const row = (...cells: unknown[]) => `| ${cells.map(fmt).join(' | ')} |`;

/**
 * The card as Markdown. Every value that came from outside (the request, the data's column names
 * and values, people's names) goes through fmt or mdLines: a portal that renders the card as HTML
 * shows it as text, never as a tag or a link. Code spans hold only identifiers the platform made.
 */
export function modelCardMarkdown(c: ModelCard): string {
  const lines: string[] = [];
  lines.push(`# Model card: ${fmt(c.model)} v${c.version}`, '', `Status: **${fmt(c.status)}** · task: ${fmt(c.task)}`, '');
  lines.push('## Intended use', '', c.intendedUse ? mdLines(c.intendedUse) : '_Not stated in the pipeline request._', '');
  lines.push('## Data', '', `- dataset version ${mdCode(c.data.datasetHash)} (${fmt(c.data.rows)} rows, ${fmt(c.data.format ?? '?')}) from ${fmt(c.data.source ?? '?')}`,
    `- target: ${fmt(c.data.target)}; features: ${c.data.features.map(fmt).join(', ')}`, '',
    '| column | kind | type |', '|---|---|---|', ...c.data.schema.map((s) => row(s.name, s.kind, s.type)), '');
  lines.push('## Parameters', '', '| parameter | value |', '|---|---|',
    ...Object.entries(c.parameters).map(([k, v]) => row(k, Array.isArray(v) ? `[${v.join(', ')}]` : v)), '');
  lines.push('## Training', '', ...Object.entries(c.training).map(([k, v]) => `- ${fmt(k)}: ${typeof v === 'object' && v ? fmt(JSON.stringify(v)) : fmt(v)}`), '');
  lines.push('## Evaluation', '', `On ${fmt(c.evaluation.heldOutRows)} held-out rows never seen in training.`, '',
    '| metric | value |', '|---|---|', ...Object.entries(c.evaluation.metrics).map(([k, v]) => row(k, v)), '');
  if (c.evaluation.perClass) {
    lines.push('| class | precision | recall | F1 | support |', '|---|---|---|---|---|',
      ...c.evaluation.perClass.map((p) => row(p.label, p.precision, p.recall, p.f1, p.support)), '');
  }
  if (c.evaluation.confusionMatrix) {
    const { labels, matrix } = c.evaluation.confusionMatrix;
    lines.push('Confusion matrix (rows: actual, columns: predicted):', '', row('', ...labels), `|---|${labels.map(() => '---').join('|')}|`,
      ...matrix.map((counts, i) => row(labels[i], ...counts)), '');
  }
  if (c.evaluation.slices) {
    for (const [column, groups] of Object.entries(c.evaluation.slices)) {
      const names = Object.keys(groups[0]?.metrics ?? {});
      lines.push(`Sliced by ${fmt(column)}:`, '', row(column, 'rows', ...names), `|---|---|${names.map(() => '---').join('|')}|`,
        ...groups.map((g) => row(g.value, g.rows, ...names.map((n) => g.metrics[n]))), '');
    }
  }
  if (c.featureImportance) {
    lines.push('## Feature importance', '', 'Permutation importance on the held-out rows: how much the primary metric worsens when the feature is shuffled.', '',
      '| feature | importance |', '|---|---|', ...c.featureImportance.map((f) => row(f.feature, f.importance)), '');
  }
  if (c.fairness) {
    lines.push('## Fairness', '');
    for (const [column, f] of Object.entries(c.fairness)) {
      lines.push(`${fmt(column)} (positive class: ${fmt(f.positiveClass)}; largest gaps: selection rate ${fmt(f.selectionRateGap)}, true positive rate ${fmt(f.truePositiveRateGap)}):`, '',
        '| group | rows | selection rate | true positive rate |', '|---|---|---|---|',
        ...f.groups.map((g) => row(g.value, g.rows, g.selectionRate, g.truePositiveRate)), '');
    }
  }
  lines.push('## Comparison with production', '');
  if (c.comparisonWithProduction) {
    const prod = c.comparisonWithProduction.productionMetrics;
    lines.push(`Against production v${fmt(c.comparisonWithProduction.productionVersion)} on the same held-out rows:`, '',
      '| metric | this version | production |', '|---|---|---|',
      ...Object.keys(c.evaluation.metrics).map((k) => row(k, c.evaluation.metrics[k], prod[k])), '');
  } else lines.push('There was no production model to compare with.', '');
  lines.push('## Lineage', '', `- pipeline ${mdCode(c.lineage.pipelineId)} (run ${mdCode(c.lineage.workflowRunId)}), code ${fmt(c.lineage.codeVersion)}`,
    `- created ${fmt(c.lineage.createdAt)}; approved by ${fmt(c.lineage.approvedBy)}${c.lineage.approvedAt ? ` at ${fmt(c.lineage.approvedAt)}` : ''}`, '');
  return lines.join('\n');
}
