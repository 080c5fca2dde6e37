/** @module reports/html/layout: the page shell: inline styles, site header and footer; no scripts, no fonts fetched. */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";

/** The whole style sheet, inline: system fonts, a single readable column, tables that scroll inside their box. */
export const STYLES = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1a1a1a;background:#fff;overflow-wrap:anywhere}
a{color:#0b57d0}a:visited{color:#6a1b9a}
a:focus-visible,[tabindex]:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:1}
header.site,footer.site{background:#f4f6f8;border-bottom:1px solid #d9dde1}
footer.site{border-top:1px solid #d9dde1;border-bottom:0;margin-top:48px;font-size:14px;color:#3d3d3d}
.bar{max-width:960px;margin:0 auto;padding:10px 16px;display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline}
.bar .brand{font-weight:700;color:#1a1a1a;text-decoration:none;margin-right:auto}
main{max-width:960px;margin:0 auto;padding:8px 16px}
h1{font-size:1.6rem;line-height:1.25;margin:16px 0 8px}
h2{font-size:1.3rem;margin:32px 0 8px;padding-top:8px;border-top:1px solid #e3e6e8}
h3{font-size:1.1rem;margin:24px 0 8px}
p.lead{font-size:1.05rem;color:#3d3d3d;margin-top:0}
.muted{color:#595959}
dl.facts{display:grid;grid-template-columns:minmax(7em,max-content) 1fr;gap:2px 12px;margin:8px 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
@media (max-width:520px){dl.facts{grid-template-columns:1fr;gap:0}dl.facts dd{margin-bottom:6px}}
figure{margin:16px 0 24px}
figure svg{display:block;width:100%;height:auto}
figure .wide svg{width:auto}
figcaption{font-size:14px;color:#3d3d3d;margin-top:4px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:14px;margin:8px 0;overflow-wrap:normal;word-break:normal}
.scroll table{width:max-content;max-width:none}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{padding:4px 8px;border-bottom:1px solid #d9dde1;text-align:left;vertical-align:top;max-width:22em}
tbody th{font-weight:600}
thead th{border-bottom:2px solid #9aa0a6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:0.9em}
pre{background:#f4f6f8;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.note{background:#fff8e1;border-left:4px solid #8a6d00;padding:8px 12px;margin:12px 0}
.pill{display:inline-block;padding:0 6px;border-radius:4px;background:#e8eaed;font-size:13px}
.pill.admin{background:#fce8e6;color:#8c1d18}
.method{display:inline-block;min-width:4.2em;font-weight:700;font-family:ui-monospace,monospace}
ul.plain{list-style:none;padding-left:0}
.badges img{vertical-align:middle;margin:2px 4px 2px 0;max-width:100%}
form.filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin:12px 0}
form.filters label{display:flex;flex-direction:column;font-size:14px}
form.filters input{font:inherit;padding:4px 6px;border:1px solid #767676;border-radius:4px;max-width:12em}
form.filters button{font:inherit;padding:4px 12px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;border-radius:4px}
`;

export interface PageProps {
  title: string;
  description?: string;
  /** Reload the page every N seconds (a run still working: the pages have no scripts, so no live stream). */
  refreshSeconds?: number;
  children?: Child;
}

/** A full page. */
export function Page(p: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.title} · projectability`}</title>
        {p.description ? <meta name="description" content={p.description} /> : null}
        <meta name="referrer" content="no-referrer" />
        {p.refreshSeconds ? <meta http-equiv="refresh" content={String(p.refreshSeconds)} /> : null}
        <style>{raw(STYLES)}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <nav class="bar" aria-label="Site">
            <a class="brand" href="/">
              projectability
            </a>
            <a href="/leaderboard">Leaderboard</a>
            <a href="/docs">API</a>
          </nav>
        </header>
        <main id="main">{p.children}</main>
        <footer class="site">
          <div class="bar">
            <span>Every rate comes with n and a 95% confidence interval. Pages are drawn on the server; they run no scripts.</span>
          </div>
        </footer>
      </body>
    </html>
  );
}

/** Renders a JSX tree to the final HTML text. */
export function renderHtml(node: unknown): string {
  return `<!doctype html>${String(node)}`;
}
