/**
 * The console under /ui: server-rendered pages (Hono JSX) for people who do not use curl. It is a
 * client of the API, in-process: every read and every action goes through the same routes, checks,
 * audit and errors as a curl call would, as the signed-in person (their key's principal travels in
 * the request's environment, never in a header). Sessions are HttpOnly, SameSite=Strict cookies
 * backed by the database; every form carries the session's CSRF token. Every action works without
 * JavaScript; htmx only refreshes a running pipeline in place.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import { hasRole } from '../common/actors';
import type { Principal } from '../common/domain';
import type { Role } from '../common/vocabulary';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { principalOfKey, principalOfToken } from '../api/auth';
import { Layout, type Flash } from './layout';
import { closeSession, csrfMatches, findSession, openSession, SESSION_COOKIE, type Session } from './sessions';
import { ApprovalsPage, AuditPage, ModelPage, ModelsPage, OverviewPage, PipelinePage, PipelinesPage, SchedulesPage, StagesLive, VersionPage } from './pages';

export const CONSOLE_PATH = '/ui';

/** an API answer that was not a success, with the API's own message for a person */
export class ApiAnswer extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export interface Api {
  get<T = any>(path: string): Promise<T>;
  post<T = any>(path: string, body?: unknown): Promise<T>;
  del<T = any>(path: string): Promise<T>;
}

export interface ConsoleDeps {
  db: Db;
  config: Config;
  /** the API, in-process, as this person */
  call(path: string, init: RequestInit, who: Principal): Promise<Response>;
}

type Env = { Variables: { who: Principal; session: Session; api: Api } };
type C = Context<Env>;

const require = createRequire(import.meta.url);
const HTMX = fs.readFileSync(require.resolve('htmx.org/dist/htmx.min.js'));

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function consoleRoutes(deps: ConsoleDeps) {
  const { db, config } = deps;
  const ui = new Hono<Env>();

  const apiFor = (who: Principal): Api => {
    const send = async (method: string, path: string, body?: unknown) => {
      const res = await deps.call(path, {
        method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      }, who);
      const text = await res.text();
      let json: any = null;
      try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
      if (!res.ok) throw new ApiAnswer(res.status, json?.error?.message ?? `The API answered ${res.status}.`);
      return json;
    };
    return { get: (p) => send('GET', p), post: (p, b) => send('POST', p, b ?? {}), del: (p) => send('DELETE', p) };
  };

  const page = (c: C, title: string, body: Child, status: 200 | 401 | 403 | 404 | 409 | 500 = 200) => {
    const flash = flashOf(c);
    return c.html(
      <Layout title={title} path={c.req.path} who={c.get('who')} csrf={c.get('session')?.csrf} flash={flash}>{body}</Layout>,
      status, SECURITY_HEADERS,
    );
  };
  /** after a POST: back to a page, with a message for the person (Post/Redirect/Get) */
  const back = (c: C, to: string, text: string, error = false) => {
    const url = new URL(to, 'http://console.local');
    url.searchParams.set(error ? 'error' : 'done', text.slice(0, 300));
    return c.redirect(`${url.pathname}${url.search}`, 303);
  };

  ui.get('/assets/htmx.min.js', (c) => c.body(HTMX, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' }));

  // ---- sign in and out ----
  const signInPage = (c: C, message?: string, status: 200 | 401 = 200) => c.html(
    <Layout title="Sign in" path={c.req.path} flash={message ? { text: message, error: true } : undefined}>
      <h1>Sign in</h1>
      <form method="post" action="/ui/sign-in" class="card">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required size={48} />
        <p class="muted">An API key's token (ask an admin for one). It is checked once; the console then keeps a session of its own.</p>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </Layout>, status, SECURITY_HEADERS);

  ui.get('/sign-in', (c) => signInPage(c));
  ui.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const who = token && token.length <= 512 ? await principalOfToken(db, token, config.adminToken) : undefined;
    if (!who) return signInPage(c, 'That token is not valid.', 401);
    const session = await openSession(db, who.keyId, config.sessionTtlMs);
    setCookie(c, SESSION_COOKIE, session.id, {
      path: CONSOLE_PATH, httpOnly: true, sameSite: 'Strict', secure: new URL(c.req.url).protocol === 'https:',
      maxAge: Math.max(1, Math.floor(config.sessionTtlMs / 1000)),
    });
    return c.redirect('/ui', 303);
  });

  // ---- everything else needs a live session, and a POST its CSRF token ----
  ui.use('*', async (c, next) => {
    if (c.req.path === '/ui/sign-in' || c.req.path.startsWith('/ui/assets/')) return next();
    const id = getCookie(c, SESSION_COOKIE);
    const session = await findSession(db, id);
    const who = session && await principalOfKey(db, session.keyId, config.adminToken);
    if (!session || !who) {
      if (id) deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH });
      return c.req.method === 'GET' ? c.redirect('/ui/sign-in', 303) : c.text('Your session has ended: sign in again.', 401);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!csrfMatches(session, form._csrf)) {
        return c.html(<Layout title="Refused" path={c.req.path}><h1>Refused</h1><p>The form expired or did not come from this site.</p></Layout>, 403, SECURITY_HEADERS);
      }
    }
    c.set('session', session);
    c.set('who', who);
    c.set('api', apiFor(who));
    return next();
  });
  ui.onError((err, c) => {
    if (err instanceof ApiAnswer) {
      const status = ([401, 403, 404, 409].includes(err.status) ? err.status : 500) as 401 | 403 | 404 | 409 | 500;
      return page(c as C, 'Not available', <><h1>Not available</h1><p>{err.message}</p><p><a href="/ui">Back to the overview</a></p></>, status);
    }
    console.error(err);
    return page(c as C, 'Error', <><h1>Something went wrong</h1><p>It has been logged.</p></>, 500);
  });

  ui.post('/sign-out', async (c) => {
    await closeSession(db, getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH });
    return c.redirect('/ui/sign-in', 303);
  });

  const may = (c: C, role: Role) => hasRole(c.get('who'), role);
  const q = (c: C, name: string) => c.req.query(name) ?? '';
  const form = async (c: C) => c.req.parseBody() as Promise<Record<string, string>>;

  // ---- pages ----
  ui.get('/', async (c) => {
    const api = c.get('api');
    const [waiting, recent, models] = await Promise.all([
      api.get('/v1/pipelines?status=awaiting_approval'), api.get('/v1/pipelines?limit=10'), api.get('/v1/models'),
    ]);
    return page(c, 'Overview', <OverviewPage waiting={waiting.items} recent={recent.items} models={models.items} />);
  });

  ui.get('/approvals', async (c) => {
    const waiting = (await c.get('api').get('/v1/pipelines?status=awaiting_approval')).items as any[];
    waiting.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)); // oldest first: it has waited longest
    return page(c, 'Approvals', <ApprovalsPage items={waiting} who={c.get('who')} csrf={c.get('session').csrf} uiUrl={config.temporal.uiUrl} />);
  });

  ui.get('/pipelines', async (c) => {
    const params = new URLSearchParams();
    for (const key of ['model', 'status', 'trigger']) if (q(c, key)) params.set(key, q(c, key));
    const filter = new URLSearchParams(params);
    if (/^[A-Za-z0-9_-]{1,200}$/.test(q(c, 'cursor'))) params.set('cursor', q(c, 'cursor'));
    params.set('limit', '50');
    const answer = await c.get('api').get(`/v1/pipelines?${params}`);
    if (answer.nextCursor) filter.set('cursor', answer.nextCursor);
    return page(c, 'Pipelines', <PipelinesPage items={answer.items} next={answer.nextCursor ? `/ui/pipelines?${filter}` : null}
      filter={{ model: q(c, 'model'), status: q(c, 'status'), trigger: q(c, 'trigger') }} />);
  });

  ui.get('/pipelines/:id', async (c) => {
    const id = c.req.param('id');
    const p = await c.get('api').get(`/v1/pipelines/${encodeURIComponent(id)}`);
    // htmx asks for the live part only, every few seconds while the pipeline runs
    if (c.req.header('hx-request') === 'true') return c.html(<StagesLive p={p} />, 200, SECURITY_HEADERS);
    return page(c, `Pipeline ${id}`, <PipelinePage p={p} who={c.get('who')} csrf={c.get('session').csrf} />);
  });

  for (const verdict of ['approve', 'reject'] as const) {
    ui.post(`/pipelines/:id/${verdict}`, async (c) => {
      const id = c.req.param('id');
      const { comment = '', from = '' } = await form(c);
      const to = from === 'pipeline' ? `/ui/pipelines/${encodeURIComponent(id)}` : '/ui/approvals';
      try {
        const p = await c.get('api').post(`/v1/pipelines/${encodeURIComponent(id)}/${verdict}`, comment.trim() ? { comment: comment.trim().slice(0, 2000) } : {});
        const done = p.status === 'awaiting_approval'
          ? `Your approval of ${p.model} v${p.modelVersion} is recorded; it needs ${p.approval.stillNeeded} more.`
          : `${p.model} v${p.modelVersion} ${verdict === 'approve' ? 'approved' : 'rejected'}.`;
        return back(c, to, done);
      } catch (err) {
        if (err instanceof ApiAnswer) return back(c, to, err.message, true);
        throw err;
      }
    });
  }

  ui.post('/pipelines/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const to = `/ui/pipelines/${encodeURIComponent(id)}`;
    try {
      await c.get('api').post(`${to.replace('/ui', '/v1')}/cancel`);
      return back(c, to, 'Cancelling: the pipeline stops at its next step.');
    } catch (err) {
      if (err instanceof ApiAnswer) return back(c, to, err.message, true);
      throw err;
    }
  });

  ui.get('/models', async (c) => {
    const api = c.get('api');
    const models = (await api.get('/v1/models')).items as any[];
    const rows = await Promise.all(models.map(async (m) => ({
      ...m,
      monitor: await api.get(`/v1/models/${encodeURIComponent(m.name)}/monitor`).catch(() => null),
      drift: ((await api.get(`/v1/models/${encodeURIComponent(m.name)}/drift?limit=1`).catch(() => ({ items: [] }))).items ?? [])[0] ?? null,
    })));
    return page(c, 'Models', <ModelsPage items={rows} />);
  });

  ui.get('/models/:name', async (c) => {
    const name = encodeURIComponent(c.req.param('name'));
    const api = c.get('api');
    const [model, monitor, drift] = await Promise.all([
      api.get(`/v1/models/${name}`),
      api.get(`/v1/models/${name}/monitor`).catch(() => null),
      api.get(`/v1/models/${name}/drift?limit=50`).catch(() => ({ items: [] })),
    ]);
    return page(c, model.name, <ModelPage model={model} monitor={monitor} drift={drift.items ?? []} who={c.get('who')} csrf={c.get('session').csrf} />);
  });

  ui.get('/models/:name/versions/:v', async (c) => {
    const name = encodeURIComponent(c.req.param('name'));
    const v = encodeURIComponent(c.req.param('v'));
    const api = c.get('api');
    const [card, history] = await Promise.all([api.get(`/v1/models/${name}/versions/${v}/card`), api.get(`/v1/models/${name}/versions/${v}/history`)]);
    return page(c, `${c.req.param('name')} v${c.req.param('v')}`, <VersionPage card={card} history={history.items} />);
  });

  ui.post('/models/:name/rollback', async (c) => {
    const name = c.req.param('name');
    const to = `/ui/models/${encodeURIComponent(name)}`;
    const { version = '', comment = '' } = await form(c);
    try {
      const body: Record<string, unknown> = {};
      if (/^[1-9][0-9]{0,9}$/.test(version)) body.toVersion = Number(version);
      if (comment.trim()) body.comment = comment.trim().slice(0, 2000);
      const m = await c.get('api').post(`/v1/models/${encodeURIComponent(name)}/rollback`, body);
      return back(c, to, `Rolled back: v${m.productionVersion} is in production.`);
    } catch (err) {
      if (err instanceof ApiAnswer) return back(c, to, err.message, true);
      throw err;
    }
  });

  for (const [action, done] of [['check', 'Checked now.'], ['pause', 'Monitor paused.'], ['resume', 'Monitor resumed.']] as const) {
    ui.post(`/models/:name/monitor/${action}`, async (c) => {
      const name = c.req.param('name');
      const to = `/ui/models/${encodeURIComponent(name)}`;
      try {
        const r = await c.get('api').post(`/v1/models/${encodeURIComponent(name)}/monitor/${action}`);
        const said = action === 'check' && r?.rows !== undefined && r?.features
          ? `Checked ${r.rows} rows: ${r.datasetDrift ? 'drift' : 'no drift'} (${r.features.filter((f: any) => f.drifted).length} of ${r.features.length} features drifted).`
          : action === 'check' && r?.minRows !== undefined ? `Too few rows to judge: ${r.rows} of ${r.minRows}.` : done;
        return back(c, to, said);
      } catch (err) {
        if (err instanceof ApiAnswer) return back(c, to, err.message, true);
        throw err;
      }
    });
  }

  ui.get('/schedules', async (c) => {
    const items = (await c.get('api').get('/v1/schedules')).items;
    return page(c, 'Schedules', <SchedulesPage items={items} may={may(c, 'operator')} csrf={c.get('session').csrf} />);
  });
  ui.post('/schedules', async (c) => {
    const { id = '', cron = '', model = '', uri = '', target = '' } = await form(c);
    try {
      await c.get('api').post('/v1/schedules', { id: id.trim(), cron: cron.trim(), pipeline: { model: model.trim(), dataset: { uri: uri.trim() }, target: target.trim() } });
      return back(c, '/ui/schedules', `Schedule ${id.trim()} created.`);
    } catch (err) {
      if (err instanceof ApiAnswer) return back(c, '/ui/schedules', err.message, true);
      throw err;
    }
  });
  for (const action of ['trigger', 'pause', 'unpause', 'delete'] as const) {
    ui.post(`/schedules/:id/${action}`, async (c) => {
      const id = encodeURIComponent(c.req.param('id'));
      try {
        if (action === 'delete') await c.get('api').del(`/v1/schedules/${id}`);
        else await c.get('api').post(`/v1/schedules/${id}/${action}`);
        return back(c, '/ui/schedules', `Schedule ${c.req.param('id')}: ${action === 'trigger' ? 'triggered' : `${action}d`}.`);
      } catch (err) {
        if (err instanceof ApiAnswer) return back(c, '/ui/schedules', err.message, true);
        throw err;
      }
    });
  }

  ui.get('/audit', async (c) => {
    const params = new URLSearchParams();
    for (const key of ['model', 'action', 'actor', 'cursor']) if (q(c, key)) params.set(key, q(c, key));
    params.set('limit', '50');
    const answer = await c.get('api').get(`/v1/audit?${params}`);
    return page(c, 'Audit log', <AuditPage items={answer.items} nextCursor={answer.nextCursor} filter={{ model: q(c, 'model'), action: q(c, 'action'), actor: q(c, 'actor') }} />);
  });

  return ui;
}

function flashOf(c: Context): Flash | undefined {
  const done = c.req.query('done');
  const error = c.req.query('error');
  if (error) return { text: error.slice(0, 300), error: true };
  if (done) return { text: done.slice(0, 300) };
  return undefined;
}
