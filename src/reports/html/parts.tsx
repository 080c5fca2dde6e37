/** @module reports/html/parts: small building blocks of the report pages: figures with text alternatives, tables, facts. */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { f2, pFmt, signed2, withCi } from "../svg/text";

export { f2, pFmt, signed2, withCi };

/** A chart with its caption and, below it, the same numbers as a table (the text alternative). */
/** Charts wider than this keep their drawn size and scroll inside the figure instead of shrinking their text (ours). */
const MAX_SHRINKABLE_WIDTH = 420;

export function Figure(p: { svg: string; caption: Child; children?: Child; source?: string }) {
  const width = Number(/^<svg[^>]* width="(\d+)"/.exec(p.svg)?.[1] ?? 0);
  const title = (/<title[^>]*>([^<]*)<\/title>/.exec(p.svg)?.[1] ?? "chart").replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e as "amp"],
  );
  return (
    <figure data-source={p.source}>
      {width > MAX_SHRINKABLE_WIDTH ? (
        <div class="scroll wide" role="region" aria-label={`${title} (scrolls sideways)`} tabindex={0}>
          {raw(p.svg)}
        </div>
      ) : (
        raw(p.svg)
      )}
      <figcaption>{p.caption}</figcaption>
      {p.children}
    </figure>
  );
}

/** A table that scrolls inside its own box on narrow screens (keyboard-focusable, named for screen readers). */
export function Table(p: { label: string; head: Child[]; rows: Child[][]; numeric?: number[] }) {
  const num = new Set(p.numeric ?? []);
  return (
    <div class="scroll" role="region" aria-label={p.label} tabindex={0}>
      <table>
        <caption>{p.label}</caption>
        <thead>
          <tr>
            {p.head.map((h, i) => (
              <th scope="col" class={num.has(i) ? "num" : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr>{r.map((cell, i) => (i === 0 ? <th scope="row">{cell}</th> : <td class={num.has(i) ? "num" : undefined}>{cell}</td>))}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A definition list of facts; empty values are left out. */
export function Facts(p: { items: [string, Child][] }) {
  return (
    <dl class="facts">
      {p.items
        .filter(([, v]) => v !== null && v !== undefined && v !== "")
        .map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
    </dl>
  );
}

export function Note(p: { children?: Child }) {
  return <p class="note">{p.children}</p>;
}

/** A number shown with its n, e.g. "0.71 [0.63, 0.79] (n = 60)". */
export function rateText(
  r: { estimate?: number | null; rate?: number | null; lo?: number | null; hi?: number | null; n?: number | null } | null | undefined,
): string {
  if (!r) return "—";
  const est = r.estimate ?? r.rate ?? null;
  return `${withCi(est, r.lo, r.hi)}${r.n != null ? ` (n = ${r.n})` : ""}`;
}

export const pretty = (id: string) => id.replace(/_/g, " ");
