/** A model card per version: what it is for, what it learned from, how it was judged, who let it out. */
import type { datasets, modelVersions } from '../db/schema';

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

const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(4)) : x === null || x === undefined ? '—' : String(x));

export function modelCardMarkdown(c: ModelCard): string {
  const lines: string[] = [];
  lines.push(`# Model card: ${c.model} v${c.version}`, '', `Status: **${c.status}** · task: ${c.task}`, '');
  lines.push('## Intended use', '', c.intendedUse ?? '_Not stated in the pipeline request._', '');
  lines.push('## Data', '', `- dataset version \`${c.data.datasetHash}\` (${fmt(c.data.rows)} rows, ${c.data.format ?? '?'}) from ${c.data.source ?? '?'}`,
    `- target: \`${c.data.target}\`; features: ${c.data.features.map((f) => `\`${f}\``).join(', ')}`, '',
    '| column | kind | type |', '|---|---|---|', ...c.data.schema.map((s) => `| ${s.name} | ${s.kind} | ${s.type} |`), '');
  lines.push('## Parameters', '', '| parameter | value |', '|---|---|',
    ...Object.entries(c.parameters).map(([k, v]) => `| ${k} | ${Array.isArray(v) ? `[${v.join(', ')}]` : fmt(v)} |`), '');
  lines.push('## Training', '', ...Object.entries(c.training).map(([k, v]) => `- ${k}: ${typeof v === 'object' && v ? JSON.stringify(v) : fmt(v)}`), '');
  lines.push('## Evaluation', '', `On ${fmt(c.evaluation.heldOutRows)} held-out rows never seen in training.`, '',
    '| metric | value |', '|---|---|', ...Object.entries(c.evaluation.metrics).map(([k, v]) => `| ${k} | ${fmt(v)} |`), '');
  if (c.evaluation.perClass) {
    lines.push('| class | precision | recall | F1 | support |', '|---|---|---|---|---|',
      ...c.evaluation.perClass.map((p) => `| ${p.label} | ${fmt(p.precision)} | ${fmt(p.recall)} | ${fmt(p.f1)} | ${p.support} |`), '');
  }
  if (c.evaluation.confusionMatrix) {
    const { labels, matrix } = c.evaluation.confusionMatrix;
    lines.push('Confusion matrix (rows: actual, columns: predicted):', '', `| | ${labels.join(' | ')} |`, `|---|${labels.map(() => '---').join('|')}|`,
      ...matrix.map((row, i) => `| ${labels[i]} | ${row.join(' | ')} |`), '');
  }
  if (c.evaluation.slices) {
    for (const [column, groups] of Object.entries(c.evaluation.slices)) {
      const names = Object.keys(groups[0]?.metrics ?? {});
      lines.push(`Sliced by \`${column}\`:`, '', `| ${column} | rows | ${names.join(' | ')} |`, `|---|---|${names.map(() => '---').join('|')}|`,
        ...groups.map((g) => `| ${g.value} | ${g.rows} | ${names.map((n) => fmt(g.metrics[n])).join(' | ')} |`), '');
    }
  }
  if (c.featureImportance) {
    lines.push('## Feature importance', '', 'Permutation importance on the held-out rows: how much the primary metric worsens when the feature is shuffled.', '',
      '| feature | importance |', '|---|---|', ...c.featureImportance.map((f) => `| ${f.feature} | ${fmt(f.importance)} |`), '');
  }
  if (c.fairness) {
    lines.push('## Fairness', '');
    for (const [column, f] of Object.entries(c.fairness)) {
      lines.push(`\`${column}\` (positive class: ${f.positiveClass}; largest gaps: selection rate ${fmt(f.selectionRateGap)}, true positive rate ${fmt(f.truePositiveRateGap)}):`, '',
        '| group | rows | selection rate | true positive rate |', '|---|---|---|---|',
        ...f.groups.map((g) => `| ${g.value} | ${g.rows} | ${fmt(g.selectionRate)} | ${fmt(g.truePositiveRate)} |`), '');
    }
  }
  lines.push('## Comparison with production', '');
  if (c.comparisonWithProduction) {
    const prod = c.comparisonWithProduction.productionMetrics;
    lines.push(`Against production v${fmt(c.comparisonWithProduction.productionVersion)} on the same held-out rows:`, '',
      '| metric | this version | production |', '|---|---|---|',
      ...Object.keys(c.evaluation.metrics).map((k) => `| ${k} | ${fmt(c.evaluation.metrics[k])} | ${fmt(prod[k])} |`), '');
  } else lines.push('There was no production model to compare with.', '');
  lines.push('## Lineage', '', `- pipeline \`${c.lineage.pipelineId}\` (run \`${c.lineage.workflowRunId}\`), code ${c.lineage.codeVersion}`,
    `- created ${c.lineage.createdAt}; approved by ${c.lineage.approvedBy ?? '—'}${c.lineage.approvedAt ? ` at ${c.lineage.approvedAt}` : ''}`, '');
  return lines.join('\n');
}
