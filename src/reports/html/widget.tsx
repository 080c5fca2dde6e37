/** @module reports/html/widget: a small embeddable card for one metric of one endpoint (value, 95% CI, n). */
import type { MetricValue } from "../metrics";
import { linear } from "../svg/scale";
import { dataAttrs, dataNum, esc, type JsonRef, px, refAttrs } from "../svg/text";
import { raw } from "hono/html";
import { withCi } from "./parts";

const WIDGET_STYLES = `
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#fff}
main{border:1px solid #c4c7c5;border-radius:8px;padding:10px 12px;max-width:420px}
h1{font-size:14px;margin:0 0 2px;font-weight:600}
.value{font-size:22px;font-weight:700;margin:0}
p{margin:2px 0}.muted{color:#595959;font-size:12px}
a{color:#0b57d0}svg{display:block;width:100%;height:auto;max-width:360px}
`;

/** The interval as a bar on [0, 1] (or [-1, 1] for a cosine), with the numbers as data attributes. */
function intervalBar(m: MetricValue, ref: JsonRef | undefined): string {
  const domain: [number, number] = m.id === "projectability.cosine" ? [-1, 1] : [0, 1];
  const x = linear(domain[0], domain[1], 6, 294);
  const attrs =
    dataAttrs({
      chart: "widget",
      metric: m.id,
      estimate: dataNum(m.value),
      lo: dataNum(m.lo),
      hi: dataNum(m.hi),
      n: dataNum(m.n),
      "x-min": domain[0],
      "x-max": domain[1],
      "px-min": 6,
      "px-max": 294,
    }) + refAttrs(ref);
  const parts = [`<line x1="6" x2="294" y1="12" y2="12" stroke="#c4c7c5" stroke-width="6" stroke-linecap="round"/>`];
  if (m.lo != null && m.hi != null) parts.push(`<line class="ci" x1="${px(x(m.lo))}" x2="${px(x(m.hi))}" y1="12" y2="12" stroke="#1f5fa8" stroke-width="6"/>`);
  if (m.value != null) parts.push(`<circle cx="${px(x(m.value))}" cy="12" r="6" fill="#ffffff" stroke="#1a1a1a" stroke-width="2"/>`);
  const label = esc(`${m.label}: ${withCi(m.value, m.lo, m.hi)}`);
  const desc = esc(`The bar spans the 95% confidence interval on a scale from ${domain[0]} to ${domain[1]}; the circle marks the estimate, from n = ${m.n}.`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 24" width="300" height="24" role="img" aria-labelledby="w-title" aria-describedby="w-desc"${attrs}><title id="w-title">${label}</title><desc id="w-desc">${desc}</desc>${parts.join("")}</svg>`;
}

export function widgetPage(p: {
  endpoint: { id: string; name: string };
  metricId: string;
  label: string;
  metric: MetricValue | null;
  ref?: JsonRef;
  origin: string;
}): string {
  const m = p.metric;
  const body = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.endpoint.name}: ${p.label}`}</title>
        <style>{raw(WIDGET_STYLES)}</style>
      </head>
      <body>
        <main>
          <h1>
            {p.endpoint.name} · {p.label}
          </h1>
          {m && m.value != null ? (
            <>
              <p class="value">{m.value.toFixed(2)}</p>
              <p>
                95% CI [{m.lo == null ? "—" : m.lo.toFixed(2)}, {m.hi == null ? "—" : m.hi.toFixed(2)}], n = {m.n}
              </p>
              {raw(intervalBar(m, p.ref))}
              <p class="muted">
                run {m.runId}
                {m.completedAt ? `, ${m.completedAt.slice(0, 10)}` : ""} ·{" "}
                <a href={`${p.origin}/reports/endpoints/${p.endpoint.id}`} target="_blank" rel="noopener">
                  full report
                </a>
              </p>
            </>
          ) : (
            <p>No completed run has measured this yet.</p>
          )}
        </main>
      </body>
    </html>
  );
  return `<!doctype html>${String(body)}`;
}
