/**
 * @module reports/svg/profile: the persona profile chart. One row per dimension: the model's match rate with
 * its 95% CI whisker, the base model's beside it, and the change the constitution's signature expects.
 */
import { linear, tickLabel, ticks } from "./scale";
import { ciWhisker, dataAttrs, dataNum, esc, f2, FONT, type JsonRef, px, refAttrs, svgOpen, withCi } from "./text";

export interface IntervalPoint {
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  n?: number | null;
  ref?: JsonRef;
}

export interface ProfileRow {
  key: string;
  label: string;
  model: IntervalPoint | null;
  base?: IntervalPoint | null;
  /** The constitution signature's signed weight for this dimension (expected change from the base), if any. */
  expected?: number | null;
  expectedRef?: JsonRef;
}

export interface ProfileChartOptions {
  id: string;
  title: string;
  description: string;
  modelLabel: string;
  baseLabel?: string | null;
  constitutionLabel?: string | null;
  rows: ProfileRow[];
  axisLabel?: string;
}

/** Layout (px). The chart is drawn for a phone-width column and scales up. */
export const PROFILE_LAYOUT = { width: 360, plotX0: 10, plotX1: 232, valueX: 240, right: 352, rowLabel: 18, line: 17, rowGap: 10 } as const;

const MODEL_COLOUR = "#1f5fa8";
const BASE_COLOUR = "#595959";
const GRID = "#e0e0e0";

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

/** A value with its whisker and point, carrying the numbers as data attributes for the page's tests. */
function intervalMark(
  series: string,
  key: string,
  p: IntervalPoint | null | undefined,
  y: number,
  x: (v: number) => number,
  colour: string,
  hollow: boolean,
  label: string,
): string {
  const attrs =
    dataAttrs({ series, key, estimate: dataNum(p?.estimate), lo: dataNum(p?.lo), hi: dataNum(p?.hi), n: p?.n == null ? undefined : dataNum(p.n) }) +
    refAttrs(p?.ref);
  const L = PROFILE_LAYOUT;
  if (!p || !finite(p.estimate)) {
    return `<g class="pt"${attrs}><text x="${L.plotX0}" y="${px(y + 4)}" font-size="11" fill="${BASE_COLOUR}">${esc(label)}: no scored answers</text></g>`;
  }
  let whisker = "";
  if (finite(p.lo) && finite(p.hi)) {
    const x1 = px(x(p.lo));
    const x2 = px(x(p.hi));
    whisker = ciWhisker(x1, x2, px(y), px(y - 4), px(y + 4), colour);
  }
  const dot = `<circle cx="${px(x(p.estimate))}" cy="${px(y)}" r="4.5" fill="${hollow ? "#ffffff" : colour}" stroke="${colour}" stroke-width="2"/>`;
  const text = `<text x="${L.valueX}" y="${px(y + 4)}" font-size="10.5" fill="${colour}">${esc(withCi(p.estimate, p.lo, p.hi))}</text>`;
  const tip = `<title>${esc(`${label}: ${withCi(p.estimate, p.lo, p.hi)}${p.n != null ? `, n = ${p.n}` : ""}`)}</title>`;
  return `<g class="pt"${attrs}>${tip}${whisker}${dot}${text}</g>`;
}

function expectedText(w: number): string {
  if (w > 0) return `▲ expected +${w}`;
  if (w < 0) return `▼ expected −${Math.abs(w)}`;
  return "expected: no change";
}

/** The persona profile chart as an SVG string. */
export function profileChart(o: ProfileChartOptions): string {
  const L = PROFILE_LAYOUT;
  const hasBase = o.rows.some((r) => r.base !== undefined) && !!o.baseLabel;
  const hasExpected = !!o.constitutionLabel && o.rows.some((r) => finite(r.expected));
  const legend: string[] = [];
  let y = 4;
  const legendLine = (mark: string, text: string) => {
    y += 17;
    legend.push(`<g transform="translate(0 ${y})">${mark}<text x="32" y="4" font-size="12" fill="#1a1a1a">${esc(text)}</text></g>`);
  };
  legendLine(`<circle cx="14" cy="0" r="4.5" fill="${MODEL_COLOUR}" stroke="${MODEL_COLOUR}" stroke-width="2"/>`, `${o.modelLabel} (95% CI)`);
  if (hasBase) legendLine(`<circle cx="14" cy="0" r="4.5" fill="#ffffff" stroke="${BASE_COLOUR}" stroke-width="2"/>`, `base: ${o.baseLabel}`);
  if (hasExpected) legendLine(`<text x="6" y="4" font-size="10" fill="#1a1a1a">▲▼</text>`, `change the ${o.constitutionLabel} signature expects`);
  y += 14;

  const x = linear(0, 1, L.plotX0, L.plotX1);
  const rowHeight = L.rowLabel + L.line * (hasBase ? 2 : 1) + L.rowGap;
  const top = y;
  const rows: string[] = [];
  for (const r of o.rows) {
    const labelY = y + 12;
    let row = `<text x="${L.plotX0}" y="${labelY}" font-size="12.5" font-weight="600" fill="#1a1a1a">${esc(r.label)}</text>`;
    if (hasExpected && finite(r.expected)) {
      row += `<text class="expected" x="${L.right}" y="${labelY}" font-size="11" text-anchor="end" fill="#1a1a1a"${dataAttrs({ series: "expected", key: r.key, estimate: dataNum(r.expected) })}${refAttrs(r.expectedRef)}>${esc(expectedText(r.expected))}</text>`;
    }
    const modelY = y + L.rowLabel + 8;
    row += intervalMark("model", r.key, r.model, modelY, x, MODEL_COLOUR, false, `${r.label}, ${o.modelLabel}`);
    if (hasBase) row += intervalMark("base", r.key, r.base, modelY + L.line, x, BASE_COLOUR, true, `${r.label}, base ${o.baseLabel}`);
    rows.push(row);
    y += rowHeight;
  }
  const bottom = y;
  const grid = ticks(0, 1, 4)
    .map((t) => `<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${top}" y2="${bottom}" stroke="${GRID}" stroke-width="1"/>`)
    .join("");
  const axis =
    `<line x1="${L.plotX0}" x2="${L.plotX1}" y1="${bottom}" y2="${bottom}" stroke="#767676"/>` +
    ticks(0, 1, 4)
      .map((t) => `<text x="${px(x(t))}" y="${bottom + 14}" font-size="10.5" text-anchor="middle" fill="#1a1a1a">${tickLabel(t)}</text>`)
      .join("") +
    `<text x="${px((L.plotX0 + L.plotX1) / 2)}" y="${bottom + 30}" font-size="11" text-anchor="middle" fill="#1a1a1a">${esc(o.axisLabel ?? "P(matching behaviour), 95% CI")}</text>`;
  const height = bottom + 38;
  const root = dataAttrs({ chart: "profile", "x-min": 0, "x-max": 1, "px-min": L.plotX0, "px-max": L.plotX1 });
  return `${svgOpen(o.id, L.width, height, o.title, o.description, `${root} font-family="${FONT}"`)}${legend.join("")}${grid}${rows.join("")}${axis}</svg>`;
}

/** One sentence per dimension, for the chart's <desc>. */
export function profileSummary(rows: ProfileRow[], modelLabel: string, baseLabel?: string | null): string {
  return rows
    .map((r) => {
      const m = r.model && finite(r.model.estimate) ? `${modelLabel} ${withCi(r.model.estimate, r.model.lo, r.model.hi)}` : `${modelLabel} no data`;
      const b = baseLabel && r.base && finite(r.base.estimate) ? `, base ${f2(r.base.estimate)}` : "";
      const e = finite(r.expected) ? `, expected ${r.expected > 0 ? "rise" : r.expected < 0 ? "fall" : "no change"}` : "";
      return `${r.label}: ${m}${b}${e}.`;
    })
    .join(" ");
}
