/**
 * The console's pages: what a person sees, from what the API answered. Pure rendering; the routes
 * in console/app.tsx fetch and act.
 */
import type { FC } from 'hono/jsx';
import { hasRole, isListedApprover, mayDecide } from '../common/actors';
import type { Principal } from '../common/domain';
import { LineChart } from './charts';
import { between, duration, list, metric, plural, relative } from './format';
import { PostForm } from './layout';

type Any = any;

const Time: FC<{ iso: string | null | undefined }> = ({ iso }) => (iso ? <time datetime={iso} title={iso}>{relative(iso)}</time> : <span>—</span>);
const Pill: FC<{ value: string | null | undefined }> = ({ value }) => <span class={`pill ${value ?? ''}`}>{(value ?? '—').replace(/_/g, ' ')}</span>;
const pipelineLink = (id: string) => `/ui/pipelines/${encodeURIComponent(id)}`;
const modelLink = (name: string) => `/ui/models/${encodeURIComponent(name)}`;

/**
 * A feature's drift as one number on one scale for every test: above 1 it drifted. A distance over
 * its threshold; for a p-value (ks, chiSquare: drift when below the threshold) the threshold over the
 * p-value, capped at 10 (a p-value of 0 would be infinite).
 */
export function driftScore(f: { test: string; statistic: number; threshold: number }): number {
  const pValue = f.test === 'ks' || f.test === 'chiSquare';
  if (pValue) return Math.min(10, f.threshold / Math.max(f.statistic, 1e-12));
  return f.threshold > 0 ? f.statistic / f.threshold : f.statistic;
}

/** the metric a model is judged by first */
export const primaryMetric = (metrics: Record<string, number> | null | undefined) =>
  ['accuracy', 'f1', 'roc_auc', 'r2', 'rmse', 'mae'].find((m) => metrics && typeof metrics[m] === 'number') ?? Object.keys(metrics ?? {})[0];

export const OverviewPage: FC<{ waiting: Any[]; recent: Any[]; models: Any[] }> = ({ waiting, recent, models }) => (
  <>
    <h1>Overview</h1>
    <div class="grid">
      <section class="card"><h2><a href="/ui/approvals">Approvals</a></h2><p>{waiting.length ? `${plural(waiting.length, 'pipeline')} awaiting a decision.` : 'Nothing awaits a decision.'}</p></section>
      <section class="card"><h2><a href="/ui/models">Models</a></h2><p>{`${plural(models.length, 'model')}, ${models.filter((m) => m.productionVersion !== null).length} in production.`}</p></section>
    </div>
    <h2>Recent pipelines</h2>
    <PipelineTable items={recent} />
  </>
);

const PipelineTable: FC<{ items: Any[] }> = ({ items }) => (
  items.length === 0 ? <p>No pipelines yet.</p> : (
    <div class="scroll">
      <table>
        <thead><tr><th>Pipeline</th><th>Model</th><th>Status</th><th>Stage</th><th>Trigger</th><th>Started</th><th class="num">Took</th></tr></thead>
        <tbody>
          {items.map((p) => (
            <tr>
              <td><a href={pipelineLink(p.id)}>{p.id}</a></td>
              <td><a href={modelLink(p.model)}>{p.model}</a>{p.modelVersion ? ` v${p.modelVersion}` : ''}</td>
              <td><Pill value={p.status} /></td>
              <td>{p.stage}</td>
              <td>{p.trigger?.kind ?? '—'}</td>
              <td><Time iso={p.startedAt} /></td>
              <td class="num">{duration(between(p.startedAt, p.endedAt))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
);

/** What stands between this person and a decision, in plain words, and whether they may decide. */
export function decisionFor(p: Any, who: Principal): { may: boolean; sentences: string[] } {
  const a = p.approval ?? {};
  const starter: string | null = p.startedByOwner ?? null;
  const sentences: string[] = [];
  const still: number = a.stillNeeded ?? 1;
  const approvers: string[] | null = a.approvers ?? null;
  const mine = starter !== null && (who.owner === starter || who.mintedBy === starter);
  const decided = (a.decisions ?? []).some((d: Any) => d.owner === who.owner);
  if (mine) sentences.push('You started this pipeline: another person must approve it.');
  else if (decided) sentences.push('You have already decided on this pipeline.');
  const others = starter ? ` from someone other than ${starter}` : '';
  const from = approvers ? ` from ${list(approvers)}` : others;
  sentences.push(`Needs ${still === 1 ? 'one more approval' : `${still} more approvals`}${from}.`);
  if (!mayDecide(who)) sentences.push('Deciding needs the approver role.');
  else if (!isListedApprover(approvers, who)) sentences.push(`Only ${list(approvers ?? [])} may decide.`);
  const may = mayDecide(who) && !mine && !decided && isListedApprover(approvers, who);
  return { may, sentences };
}

const MetricsTable: FC<{ metrics: Record<string, number> | null; champion: Record<string, number> | null }> = ({ metrics, champion }) => {
  const names = Object.keys(metrics ?? {}).filter((n) => typeof metrics![n] === 'number');
  if (!names.length) return <p class="muted">No metrics yet.</p>;
  return (
    <table>
      <thead><tr><th>Metric (held-out rows)</th><th class="num">Candidate</th><th class="num">Production</th></tr></thead>
      <tbody>{names.map((n) => <tr><td>{n}</td><td class="num">{metric(n, metrics![n])}</td><td class="num">{champion ? metric(n, champion[n]) : '—'}</td></tr>)}</tbody>
    </table>
  );
};

const DecisionArea: FC<{ p: Any; who: Principal; csrf: string; from: 'approvals' | 'pipeline' }> = ({ p, who, csrf, from }) => {
  const { may, sentences } = decisionFor(p, who);
  const decisions = p.approval?.decisions ?? [];
  return (
    <div>
      {sentences.map((s) => <p>{s}</p>)}
      {decisions.length > 0 && <ul>{decisions.map((d: Any) => <li>{`${d.decision} by ${d.by}`} <Time iso={d.at} />{d.comment ? `: “${d.comment}”` : ''}</li>)}</ul>}
      {may && (
        <PostForm action={`/ui/pipelines/${encodeURIComponent(p.id)}/approve`} csrf={csrf}>
          <input type="hidden" name="from" value={from} />
          <label for={`comment-${p.id}`}>Comment</label>
          <textarea id={`comment-${p.id}`} name="comment" maxlength={2000}></textarea>
          <div class="row">
            <button type="submit" class="primary">Approve</button>
            <button type="submit" class="danger" formaction={`/ui/pipelines/${encodeURIComponent(p.id)}/reject`}>Reject</button>
          </div>
        </PostForm>
      )}
    </div>
  );
};

const Rules: FC<{ p: Any }> = ({ p }) => {
  const gates = p.gates;
  const canary = p.rules?.canary;
  const anomalies = p.validation?.anomalies ?? [];
  return (
    <div class="grid">
      <div>
        <h3>Gates</h3>
        {gates ? <p><Pill value={gates.passed ? 'passed' : 'failed'} /> {gates.failures?.length ? gates.failures.join('; ') : 'every gate passed'}</p> : <p class="muted">—</p>}
        <h3>Data validation</h3>
        <p>{p.validation ? `${p.validation.passed ? 'passed' : 'failed'}; ${plural(anomalies.length, 'anomaly', 'anomalies')}` : '—'}{p.dataset ? `, ${p.dataset.rows.toLocaleString('en')} rows` : ''}</p>
        {anomalies.length > 0 && <ul>{anomalies.slice(0, 10).map((a: Any) => <li>{`${a.severity}: ${a.message}`}</li>)}</ul>}
        <h3>Servability</h3>
        {p.servability ? (
          <p><Pill value={p.servability.servable ? 'passed' : 'failed'} />{' '}
            {p.servability.servable ? `loaded as the API loads it, it answered ${plural(p.servability.instances, 'instance', 'instances')} as it evaluated` : p.servability.problem ?? 'it does not serve'}</p>
        ) : <p class="muted">Not checked yet.</p>}
      </div>
      <div>
        <h3>Canary limits</h3>
        {canary ? (
          <ul>
            <li>{`steps ${canary.steps.join(' % → ')} %, ${canary.stepDuration} each`}</li>
            <li>{`at least ${canary.minRequests} requests per step`}</li>
            <li>{`error rate at most +${metric('x', canary.maxErrorRateIncrease)}, latency at most ×${canary.maxLatencyRatio}`}</li>
          </ul>
        ) : <p>No canary: promoted straight after approval.</p>}
      </div>
    </div>
  );
};

export const ApprovalsPage: FC<{ items: Any[]; who: Principal; csrf: string; uiUrl: string }> = ({ items, who, csrf }) => (
  <>
    <h1>Approvals</h1>
    {items.length === 0 && <p>Nothing awaits a decision.</p>}
    {items.map((p) => (
      <article>
        <h2>{`${p.model} v${p.modelVersion}`}</h2>
        <p class="muted">
          <a href={pipelineLink(p.id)}>{p.id}</a>{` · started by ${p.startedBy ?? 'the system'} `}<Time iso={p.startedAt} />
          {p.approval?.deadline && <> · deadline <Time iso={p.approval.deadline} /></>}
        </p>
        <MetricsTable metrics={p.metrics} champion={p.championMetrics} />
        <Rules p={p} />
        <p>
          <a href={`/ui/models/${encodeURIComponent(p.model)}/versions/${p.modelVersion}`}>Model card</a>{' · '}
          <a href={p.temporalUiUrl} rel="noreferrer">Open in Temporal UI</a>
        </p>
        <DecisionArea p={p} who={who} csrf={csrf} from="approvals" />
      </article>
    ))}
  </>
);

export const PipelinesPage: FC<{ items: Any[]; next: string | null; filter: { model: string; status: string; trigger: string } }> = ({ items, next, filter }) => (
  <>
    <h1>Pipelines</h1>
    <form method="get" action="/ui/pipelines" class="row">
      <div><label for="f-model">Model</label><input id="f-model" name="model" value={filter.model} maxlength={63} /></div>
      <div><label for="f-status">Status</label>
        <select id="f-status" name="status">
          {['', 'running', 'awaiting_approval', 'completed', 'rejected', 'failed', 'cancelled'].map((s) => <option value={s} selected={s === filter.status}>{s ? s.replace('_', ' ') : 'any'}</option>)}
        </select></div>
      <div><label for="f-trigger">Trigger</label>
        <select id="f-trigger" name="trigger">
          {['', 'api', 'drift', 'performance', 'schedule', 'arrival', 'retry'].map((s) => <option value={s} selected={s === filter.trigger}>{s || 'any'}</option>)}
        </select></div>
      <button type="submit">Filter</button>
    </form>
    <PipelineTable items={items} />
    {next && <p><a href={next}>Next page</a></p>}
  </>
);

/** the stages on a timeline, training and canary progress: refreshed in place while the pipeline runs */
export const StagesLive: FC<{ p: Any }> = ({ p }) => {
  const running = p.status === 'running' || p.status === 'awaiting_approval';
  const start = Date.parse(p.startedAt);
  const total = Math.max(1, (p.endedAt ? Date.parse(p.endedAt) : Date.now()) - start);
  return (
    <section class="card" id="live" {...(running ? { 'hx-get': pipelineLink(p.id), 'hx-trigger': 'every 2s', 'hx-swap': 'outerHTML' } : {})}>
      <h2>Stages</h2>
      <p><Pill value={p.status} />{p.reason ? ` (${p.reason})` : ''}{p.error ? `: ${p.error}` : ''}</p>
      <table>
        <thead><tr><th>Stage</th><th>Status</th><th class="num">Took</th><th style="width:40%">Timeline</th></tr></thead>
        <tbody>
          {(p.stages ?? []).map((s: Any) => {
            const from = Date.parse(s.startedAt) - start;
            const took = between(s.startedAt, s.endedAt) ?? 0;
            return (
              <tr>
                <td>{s.name}</td><td><Pill value={s.status} /></td><td class="num">{duration(took)}</td>
                <td><div class="bar" style={`margin-left:${((100 * from) / total).toFixed(1)}%;width:${Math.max(0.5, (100 * took) / total).toFixed(1)}%`} /></td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {p.training && (
        <p>{`Training: epoch ${p.training.epoch ?? '—'} of ${p.training.epochs ?? '—'}`}{p.training.loss !== undefined && p.training.loss !== null ? `, loss ${metric('loss', p.training.loss)}` : ''}</p>
      )}
      {p.canary && !p.canary.skipped && (
        <p>{`Canary: ${p.canary.trafficPercent ?? 0} % of traffic, step ${p.canary.step ?? '—'}`}{p.canary.outcome ? `, ${p.canary.outcome}` : ''}</p>
      )}
    </section>
  );
};

export const PipelinePage: FC<{ p: Any; who: Principal; csrf: string }> = ({ p, who, csrf }) => {
  const running = p.status === 'running' || p.status === 'awaiting_approval';
  const inCanary = p.stage === 'canary' || p.stage === 'promote';
  const mayCancel = running && hasRole(who, inCanary ? 'approver' : 'operator');
  return (
    <>
      <h1>{`Pipeline ${p.id}`}</h1>
      <p class="muted">
        <a href={modelLink(p.model)}>{p.model}</a>{p.modelVersion ? ` v${p.modelVersion}` : ''}{` · started by ${p.startedBy ?? 'the system'}`}
        {p.trigger ? ` (${p.trigger.kind})` : ''} <Time iso={p.startedAt} />{' · '}<a href={p.temporalUiUrl} rel="noreferrer">Open in Temporal UI</a>
      </p>
      <StagesLive p={p} />
      <section class="card"><h2>Metrics</h2><MetricsTable metrics={p.metrics} champion={p.championMetrics} /></section>
      <section class="card"><h2>Approval</h2>
        {p.approval?.decision ? <p>{`${p.approval.decision.replace('_', ' ')} by ${p.approval.by ?? 'the system'}`} <Time iso={p.approval.at} />{p.approval.comment ? `: “${p.approval.comment}”` : ''}</p>
          : p.status === 'awaiting_approval' ? <DecisionArea p={p} who={who} csrf={csrf} from="pipeline" /> : <p class="muted">{p.approval?.required === false ? 'Not required by its policy.' : 'Not yet.'}</p>}
        <Rules p={p} />
      </section>
      {mayCancel && (
        <PostForm action={`/ui/pipelines/${encodeURIComponent(p.id)}/cancel`} csrf={csrf}>
          <button type="submit" class="danger">Cancel</button>
          {inCanary && <span class="muted"> Cancelling rolls its canary back.</span>}
        </PostForm>
      )}
    </>
  );
};

export const ModelsPage: FC<{ items: Any[] }> = ({ items }) => (
  <>
    <h1>Models</h1>
    {items.length === 0 ? <p>No models yet: a pipeline registers one.</p> : (
      <div class="scroll"><table>
        <thead><tr><th>Model</th><th>Production</th><th>Canary</th><th>Monitor</th><th>Last drift check</th></tr></thead>
        <tbody>{items.map((m) => (
          <tr>
            <td><a href={modelLink(m.name)}>{m.name}</a> <span class="muted">{m.task}</span></td>
            <td>{m.productionVersion ? `v${m.productionVersion}` : '—'}</td>
            <td>{m.canaryVersion ? `v${m.canaryVersion} (${m.canaryTrafficPercent} %)` : '—'}</td>
            <td><Pill value={m.monitor?.state ?? null} /></td>
            <td>{m.drift ? <><Pill value={m.drift.datasetDrift ? 'drift' : 'passed'} />{` ${m.drift.datasetDrift ? 'drift' : 'no drift'} `}<Time iso={m.drift.at} /></> : '—'}</td>
          </tr>
        ))}</tbody>
      </table></div>
    )}
  </>
);

export const ModelPage: FC<{ model: Any; monitor: Any; drift: Any[]; who: Principal; csrf: string }> = ({ model, monitor, drift, who, csrf }) => {
  const versions = [...model.versions].sort((a: Any, b: Any) => a.version - b.version);
  const main = primaryMetric(versions.at(-1)?.metrics);
  const reports = [...drift].filter((r) => Array.isArray(r.features)).reverse(); // oldest first
  const features = [...new Set(reports.flatMap((r) => r.features.map((f: Any) => f.name)))] as string[];
  const targets = versions.filter((v: Any) => ['archived', 'approved'].includes(v.status) && v.version !== model.productionVersion).reverse();
  return (
    <>
      <h1>{model.name}</h1>
      <p>{`Production: ${model.productionVersion ? `v${model.productionVersion}` : 'none'}`}{model.canaryVersion ? ` · canary v${model.canaryVersion} at ${model.canaryTrafficPercent} %` : ''}</p>
      <section class="card">
        <h2>Versions</h2>
        <div class="scroll"><table>
          <thead><tr><th>Version</th><th>Status</th><th class="num">{main ?? 'Metric'}</th><th>Approved by</th><th>Created</th></tr></thead>
          <tbody>{[...versions].reverse().map((v: Any) => (
            <tr><td><a href={`${modelLink(model.name)}/versions/${v.version}`}>{`v${v.version}`}</a></td><td><Pill value={v.status} /></td>
              <td class="num">{main ? metric(main, v.metrics?.[main]) : '—'}</td><td>{v.approvedBy ?? '—'}</td><td><Time iso={v.createdAt} /></td></tr>
          ))}</tbody>
        </table></div>
        {main && versions.length > 0 && <LineChart label={`Primary metric (${main}), oldest to newest`} xLabels={versions.map((v: Any) => `v${v.version}`)} series={[{ name: main, points: versions.map((v: Any) => v.metrics?.[main] ?? null) }]} />}
        {hasRole(who, 'approver') && model.productionVersion && (
          <PostForm action={`${modelLink(model.name)}/rollback`} csrf={csrf}>
            <h3>Roll back</h3>
            {targets.length === 0 ? <p class="muted">No earlier version to roll back to.</p> : (
              <div class="row">
                <div><label for="rb-version">Version</label>
                  <select id="rb-version" name="version">{targets.map((v: Any) => <option value={String(v.version)}>{`v${v.version} (${v.status})`}</option>)}</select></div>
                <div style="flex:1"><label for="rb-comment">Comment</label><input id="rb-comment" name="comment" maxlength={2000} style="width:100%" /></div>
                <button type="submit" class="danger">Roll back</button>
              </div>
            )}
          </PostForm>
        )}
      </section>
      <section class="card">
        <h2>Monitor</h2>
        {monitor ? (
          <p><Pill value={monitor.state} />{` every ${monitor.interval} · last check `}<Time iso={monitor.lastCheck} />{' · next '}<Time iso={monitor.nextCheck} />
            {monitor.temporalUiUrl && <>{' · '}<a href={monitor.temporalUiUrl} rel="noreferrer">Open in Temporal UI</a></>}</p>
        ) : <p class="muted">Not watched: a model's monitor starts with its first promotion.</p>}
        {monitor && hasRole(who, 'operator') && (
          <div class="row">
            <PostForm action={`${modelLink(model.name)}/monitor/check`} csrf={csrf}><button type="submit">Check now</button></PostForm>
            {monitor.state === 'paused'
              ? <PostForm action={`${modelLink(model.name)}/monitor/resume`} csrf={csrf}><button type="submit">Resume</button></PostForm>
              : <PostForm action={`${modelLink(model.name)}/monitor/pause`} csrf={csrf}><button type="submit">Pause</button></PostForm>}
          </div>
        )}
        <h3>Drift per feature over time</h3>
        {reports.length === 0 ? <p class="muted">No drift checks yet.</p> : (
          <>
            <LineChart label="Drift per feature over time" xLabels={reports.map((r) => new Date(r.at).toISOString().slice(5, 16).replace('T', ' '))}
              series={features.map((f) => ({ name: f, points: reports.map((r) => { const x = r.features.find((y: Any) => y.name === f); return x ? driftScore(x) : null; }) }))}
              threshold={1} />
            <p class="muted">Each feature's drift on one scale: its distance over its threshold (for a p-value test, the threshold over the p-value, at most 10). Above 1, the dashed line, it drifted.</p>
            <div class="scroll"><table>
              <thead><tr><th>Checked</th><th class="num">Rows</th><th>Verdict</th><th class="num">Drifted</th><th>Action</th></tr></thead>
              <tbody>{[...reports].reverse().slice(0, 10).map((r) => (
                <tr><td><Time iso={r.at} /></td><td class="num">{r.rows}</td><td><Pill value={r.datasetDrift ? 'drift' : 'passed'} /></td>
                  <td class="num">{`${r.features.filter((f: Any) => f.drifted).length} of ${r.features.length}`}</td><td>{(r.action ?? '').replace(/_/g, ' ')}</td></tr>
              ))}</tbody>
            </table></div>
          </>
        )}
      </section>
    </>
  );
};

const KeyValues: FC<{ entries: [string, unknown][] }> = ({ entries }) => (
  <table><tbody>{entries.map(([k, v]) => (
    <tr><th>{k}</th><td>{v === null || v === undefined ? '—' : typeof v === 'number' ? metric(k, v) : Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}</td></tr>
  ))}</tbody></table>
);

export const VersionPage: FC<{ card: Any; history: Any[] }> = ({ card, history }) => (
  <>
    <h1>{`${card.model} v${card.version}`}</h1>
    <p><Pill value={card.status} />{` ${card.task} · `}<a href={`/ui/models/${encodeURIComponent(card.model)}`}>all versions</a>
      {card.lineage?.pipelineId && <>{' · '}<a href={pipelineLink(card.lineage.pipelineId)}>its pipeline</a></>}</p>
    <div class="grid">
      <section class="card"><h2>Intended use</h2><p>{card.intendedUse ?? 'Not stated in the pipeline request.'}</p>
        <h2>Data</h2>
        <KeyValues entries={[['dataset', card.data.datasetHash], ['source', card.data.source], ['rows', card.data.rows], ['target', card.data.target], ['features', card.data.features]]} />
      </section>
      <section class="card"><h2>{`Evaluation on ${card.evaluation.heldOutRows ?? '?'} held-out rows`}</h2>
        <MetricsTable metrics={card.evaluation.metrics} champion={card.comparisonWithProduction?.productionMetrics ?? null} />
        {card.fairness && <p class="muted">{`Fairness: ${JSON.stringify(card.fairness).slice(0, 300)}`}</p>}
      </section>
    </div>
    <section class="card"><h2>Parameters</h2><KeyValues entries={Object.entries(card.parameters ?? {})} /></section>
    <section class="card"><h2>Lineage</h2><KeyValues entries={Object.entries(card.lineage ?? {})} />
      <p class="muted">As Markdown: <code>{`GET /v1/models/${card.model}/versions/${card.version}/card?format=markdown`}</code></p></section>
    <section class="card"><h2>History</h2>
      <table><thead><tr><th>When</th><th>What</th><th>Who</th></tr></thead>
        <tbody>{history.map((e) => <tr><td><Time iso={e.at} /></td><td>{e.action}</td><td>{e.actor?.name}</td></tr>)}</tbody></table>
    </section>
  </>
);

export const SchedulesPage: FC<{ items: Any[]; may: boolean; csrf: string }> = ({ items, may, csrf }) => (
  <>
    <h1>Schedules</h1>
    {items.length === 0 ? <p>No schedules. Create one with <code>POST /v1/schedules</code> (README, "Recurring retraining").</p> : (
      <div class="scroll"><table>
        <thead><tr><th>Schedule</th><th>Model</th><th>When</th><th>Next run</th><th>State</th>{may && <th>Actions</th>}</tr></thead>
        <tbody>{items.map((s) => (
          <tr>
            <td>{s.id}</td><td><a href={modelLink(s.model)}>{s.model}</a></td><td>{s.cron ?? s.interval ?? '—'}</td><td><Time iso={s.nextRuns?.[0] ?? null} /></td>
            <td><Pill value={s.paused ? 'paused' : 'watching'} /></td>
            {may && <td class="row">
              <PostForm action={`/ui/schedules/${encodeURIComponent(s.id)}/trigger`} csrf={csrf}><button type="submit">Run now</button></PostForm>
              <PostForm action={`/ui/schedules/${encodeURIComponent(s.id)}/${s.paused ? 'unpause' : 'pause'}`} csrf={csrf}><button type="submit">{s.paused ? 'Unpause' : 'Pause'}</button></PostForm>
              <PostForm action={`/ui/schedules/${encodeURIComponent(s.id)}/delete`} csrf={csrf}><button type="submit" class="danger">Delete</button></PostForm>
            </td>}
          </tr>
        ))}</tbody>
      </table></div>
    )}
    {may && (
      <PostForm action="/ui/schedules" csrf={csrf} class="card">
        <h2>New schedule</h2>
        <p class="muted">Retrains a model on a cron (UTC) through the same gates, approval and canary as any pipeline.</p>
        <div class="row">
          <div><label for="s-id">Schedule id</label><input id="s-id" name="id" required maxlength={63} placeholder="weather-nightly" /></div>
          <div><label for="s-cron">Cron</label><input id="s-cron" name="cron" required maxlength={100} placeholder="0 3 * * *" /></div>
          <div><label for="s-model">Model</label><input id="s-model" name="model" required maxlength={63} /></div>
          <div style="flex:1"><label for="s-uri">Dataset URI</label><input id="s-uri" name="uri" required maxlength={2048} style="width:100%" /></div>
          <div><label for="s-target">Target column</label><input id="s-target" name="target" required maxlength={256} /></div>
          <button type="submit" class="primary">Create schedule</button>
        </div>
      </PostForm>
    )}
  </>
);

export const AuditPage: FC<{ items: Any[]; nextCursor: string | null; filter: { model: string; action: string; actor: string } }> = ({ items, nextCursor, filter }) => {
  const next = new URLSearchParams(Object.entries(filter).filter(([, v]) => v));
  if (nextCursor) next.set('cursor', nextCursor);
  return (
    <>
      <h1>Audit log</h1>
      <form method="get" action="/ui/audit" class="row">
        <div><label for="a-model">Model</label><input id="a-model" name="model" value={filter.model} maxlength={63} /></div>
        <div><label for="a-action">Action</label><input id="a-action" name="action" value={filter.action} maxlength={40} /></div>
        <div><label for="a-actor">Actor</label><input id="a-actor" name="actor" value={filter.actor} maxlength={200} /></div>
        <button type="submit">Filter</button>
      </form>
      <div class="scroll"><table>
        <thead><tr><th>When</th><th>Action</th><th>Actor</th><th>Subject</th><th>Details</th></tr></thead>
        <tbody>{items.map((e) => (
          <tr><td><Time iso={e.at} /></td><td>{e.action}</td><td>{e.actor.name}</td>
            <td>{e.model ? `${e.model}${e.version ? ` v${e.version}` : ''}` : ''}{e.pipelineId ? <> · <a href={pipelineLink(e.pipelineId)}>{e.pipelineId}</a></> : ''}</td>
            <td><code>{JSON.stringify(e.details).slice(0, 160)}</code></td></tr>
        ))}</tbody>
      </table></div>
      {nextCursor && <p><a href={`/ui/audit?${next}`}>Next page</a></p>}
    </>
  );
};
