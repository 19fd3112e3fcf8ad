/** The page around every console page: header with the navigation and who is signed in, a flash message, the content. */
import type { Child, FC } from 'hono/jsx';
import type { Principal } from '../common/domain';

export const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;background:#f9fafb}
header{display:flex;flex-wrap:wrap;gap:.75rem 1.25rem;align-items:center;padding:.6rem 1rem;background:#111827;color:#f9fafb}
header a{color:#e5e7eb;text-decoration:none}header a:hover,header a[aria-current]{color:#fff;text-decoration:underline}
header .brand{font-weight:700;color:#fff}header form{margin:0 0 0 auto;display:flex;gap:.5rem;align-items:center}
main{max-width:1100px;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:.25rem 0 .5rem}
article,section.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:1rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{font-weight:600;color:#374151;font-size:.85rem}.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}button,.button{font:inherit;padding:.35rem .8rem;border-radius:6px;border:1px solid #9ca3af;background:#fff;cursor:pointer}
button.primary{background:#2563eb;color:#fff;border-color:#2563eb}button.danger{background:#b91c1c;color:#fff;border-color:#b91c1c}
textarea,input,select{font:inherit;padding:.3rem .4rem;border:1px solid #9ca3af;border-radius:6px;max-width:100%}textarea{width:100%;min-height:3.5rem}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.status{padding:.5rem .75rem;border-radius:6px;background:#ecfdf5;border:1px solid #a7f3d0;margin:0 0 1rem}.status.error{background:#fef2f2;border-color:#fecaca}
.muted{color:#6b7280}.pill{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;background:#e5e7eb}
.pill.completed,.pill.production,.pill.watching,.pill.passed{background:#d1fae5}.pill.rejected,.pill.failed,.pill.drift{background:#fee2e2}
.pill.awaiting_approval,.pill.canary,.pill.paused{background:#fef3c7}.pill.running{background:#dbeafe}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:1rem}.chart svg{max-width:100%;height:auto}
.legend{margin-right:1rem;font-size:.85rem}.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
.bar{height:.6rem;background:#2563eb;border-radius:3px;min-width:2px}
@media (max-width:640px){main{padding:.5rem}th,td{padding:.3rem}}
`;

export const NAV = [
  ['/ui', 'Overview'], ['/ui/approvals', 'Approvals'], ['/ui/pipelines', 'Pipelines'], ['/ui/models', 'Models'],
  ['/ui/schedules', 'Schedules'], ['/ui/audit', 'Audit log'],
] as const;

export interface Flash { text: string; error?: boolean }

export const Layout: FC<{ title: string; path: string; who?: Principal; csrf?: string; flash?: Flash; children?: Child }> = ({ title, path, who, csrf, flash, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Perennial`}</title>
      <style>{STYLE}</style>
      <script src="/ui/assets/htmx.min.js" defer></script>
    </head>
    <body>
      <header>
        <a class="brand" href="/ui">Perennial</a>
        {who && NAV.map(([href, text]) => (
          <a href={href} aria-current={(href === '/ui' ? path === '/ui' : path.startsWith(href)) ? 'page' : undefined}>{text}</a>
        ))}
        {who && (
          <form method="post" action="/ui/sign-out">
            <span>{`${who.name} (${who.role})`}</span>
            <input type="hidden" name="_csrf" value={csrf} />
            <button type="submit">Sign out</button>
          </form>
        )}
      </header>
      <main>
        {flash && <p role="status" class={flash.error ? 'status error' : 'status'}>{flash.text}</p>}
        {children}
      </main>
    </body>
  </html>
);

/** a form that posts with the session's CSRF token */
export const PostForm: FC<{ action: string; csrf: string; children?: Child; class?: string }> = ({ action, csrf, children, ...rest }) => (
  <form method="post" action={action} {...rest}>
    <input type="hidden" name="_csrf" value={csrf} />
    {children}
  </form>
);
