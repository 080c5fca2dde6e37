/**
 * @module reports/svg/forest: interval plots ("forest plots"): one row per estimate with its 95% CI, a reference
 * line (0 for differences), optional group headings. Used for effects, leaderboard rows and consistency evidence.
 */
import { linear, niceDomain, tickLabel, ticks } from "./scale";
import { ciWhisker, clip, dataAttrs, dataNum, esc, FONT, type JsonRef, px, refAttrs, svgOpen, withCi } from "./text";

export interface ForestRow {
  key: string;
  label: string;
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  n?: number | null;
  /** Right-aligned note on the label line, e.g. "p = 0.003" or "rank 1–2". */
  note?: string;
  /** A heading printed above the first row of each group. */
  group?: string | null;
  /** Identifies what the row is (e.g. "effect.all"), for the page's tests. */
  series?: string;
  /** Draws the point filled (significant, or first) or hollow. */
  emphasis?: boolean;
  ref?: JsonRef;
}

export interface ForestOptions {
  id: string;
  title: string;
  description: string;
  rows: ForestRow[];
  axisLabel: string;
  /** Fixed domain (e.g. [0, 1] for rates); default: around the data and the reference. */
  domain?: [number, number];
  /** A dashed reference line (0 for differences); null for none. */
  reference?: number | null;
  /** Show "+" on positive values (differences). */
  signed?: boolean;
  chart?: string;
}

export const FOREST_LAYOUT = { width: 360, plotX0: 10, plotX1: 224, valueX: 232, right: 352, label: 17, line: 16, gap: 8, group: 22 } as const;

const INK = "#1a1a1a";
const MARK = "#1f5fa8";

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

export function forestPlot(o: ForestOptions): string {
  const L = FOREST_LAYOUT;
  const reference = o.reference === undefined ? 0 : o.reference;
  const values = o.rows.flatMap((r) => [r.lo, r.hi, r.estimate]).filter(finite);
  const domain = o.domain ?? niceDomain(values, reference == null ? [] : [reference]);
  const x = linear(domain[0], domain[1], L.plotX0, L.plotX1);
  const clampX = (v: number) => x(Math.min(domain[1], Math.max(domain[0], v)));
  const parts: string[] = [];
  let y = 6;
  const top = y;
  let group: string | null | undefined;
  for (const r of o.rows) {
    if (r.group && r.group !== group) {
      // "name — label" headings take two lines, so a long label never runs off the chart.
      const [head, ...rest] = r.group.split(" — ");
      y += L.group;
      parts.push(`<text class="group" x="${L.plotX0}" y="${y - 6}" font-size="12.5" font-weight="700" fill="${INK}">${esc(clip(head, 52))}</text>`);
      if (rest.length) {
        y += 15;
        parts.push(`<text x="${L.plotX0}" y="${y - 6}" font-size="11.5" fill="${INK}">${esc(clip(rest.join(" — "), 58))}</text>`);
      }
    }
    group = r.group;
    const labelY = y + 12;
    parts.push(`<text x="${L.plotX0}" y="${labelY}" font-size="12" fill="${INK}">${esc(r.label)}</text>`);
    if (r.note) parts.push(`<text x="${L.right}" y="${labelY}" font-size="10.5" text-anchor="end" fill="${INK}">${esc(r.note)}</text>`);
    const ly = y + L.label + 6;
    const attrs =
      dataAttrs({
        series: r.series ?? "row",
        key: r.key,
        group: r.group ?? undefined,
        estimate: dataNum(r.estimate),
        lo: dataNum(r.lo),
        hi: dataNum(r.hi),
        n: r.n == null ? undefined : dataNum(r.n),
      }) + refAttrs(r.ref);
    if (!finite(r.estimate)) {
      parts.push(`<g class="pt"${attrs}><text x="${L.plotX0}" y="${ly + 4}" font-size="11" fill="#595959">no estimate</text></g>`);
    } else {
      let whisker = "";
      if (finite(r.lo) && finite(r.hi)) {
        const x1 = px(clampX(r.lo));
        const x2 = px(clampX(r.hi));
        whisker = ciWhisker(x1, x2, ly, ly - 4, ly + 4, MARK);
      }
      const filled = r.emphasis ?? true;
      const tip = `<title>${esc(`${r.group ? `${r.group}, ` : ""}${r.label}: ${withCi(r.estimate, r.lo, r.hi, o.signed)}${r.n != null ? `, n = ${r.n}` : ""}${r.note ? `, ${r.note}` : ""}`)}</title>`;
      parts.push(
        `<g class="pt"${attrs}>${tip}${whisker}<rect x="${px(clampX(r.estimate) - 4.5)}" y="${ly - 4.5}" width="9" height="9" fill="${filled ? MARK : "#ffffff"}" stroke="${MARK}" stroke-width="2"/>` +
          `<text x="${L.valueX}" y="${ly + 4}" font-size="10.5" fill="${INK}">${esc(withCi(r.estimate, r.lo, r.hi, o.signed))}</text></g>`,
      );
    }
    y += L.label + L.line + L.gap;
  }
  const bottom = y;
  const tickList = ticks(domain[0], domain[1], 4);
  const grid = tickList.map((t) => `<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${top}" y2="${bottom}" stroke="#e0e0e0"/>`).join("");
  const ref =
    reference != null && reference >= domain[0] && reference <= domain[1]
      ? `<line class="reference" x1="${px(x(reference))}" x2="${px(x(reference))}" y1="${top}" y2="${bottom}" stroke="#767676" stroke-dasharray="4 3"/>`
      : "";
  const axis =
    `<line x1="${L.plotX0}" x2="${L.plotX1}" y1="${bottom}" y2="${bottom}" stroke="#767676"/>` +
    tickList.map((t) => `<text x="${px(x(t))}" y="${bottom + 14}" font-size="10.5" text-anchor="middle" fill="${INK}">${tickLabel(t)}</text>`).join("") +
    `<text x="${px((L.plotX0 + L.plotX1) / 2)}" y="${bottom + 30}" font-size="11" text-anchor="middle" fill="${INK}">${esc(o.axisLabel)}</text>`;
  const root = dataAttrs({ chart: o.chart ?? "forest", "x-min": domain[0], "x-max": domain[1], "px-min": L.plotX0, "px-max": L.plotX1 });
  return `${svgOpen(o.id, L.width, bottom + 38, o.title, o.description, `${root} font-family="${FONT}"`)}${grid}${ref}${parts.join("")}${axis}</svg>`;
}
