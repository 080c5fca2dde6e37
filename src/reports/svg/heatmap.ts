/**
 * @module reports/svg/heatmap: the safety matrix as a heat map. A row per category and a column per model, so
 * the matrix stays readable in a phone-width column (the page's table gives the same cells models by rows).
 */
import { RAMP_STOPS, rampColor, textOn } from "./color";
import { clip, dataAttrs, dataNum, esc, FONT, type JsonRef, px, refAttrs, svgOpen, withCi } from "./text";

export interface HeatCell {
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  n: number | null;
  ref?: JsonRef;
}

export interface HeatAxisItem {
  key: string;
  label: string;
}

export interface HeatmapOptions {
  id: string;
  title: string;
  description: string;
  /** Categories, top to bottom. */
  rows: HeatAxisItem[];
  /** Models, left to right. */
  cols: HeatAxisItem[];
  cell(rowKey: string, colKey: string): HeatCell | null;
  valueLabel: string;
}

export const HEATMAP_LAYOUT = {
  labelWidth: 128,
  minCol: 52,
  maxCol: 84,
  rowHeight: 36,
  target: 360,
  charWidth: 6.3,
  rowLabelChars: 19,
  headerLine: 13,
} as const;

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

/** ".61–.81": the CI in a cell, without leading zeros, to fit a narrow column. */
export function shortCi(lo: number | null, hi: number | null): string {
  if (!finite(lo) || !finite(hi)) return "";
  const s = (x: number) => (x >= 0.995 ? "1.00" : x.toFixed(2).replace(/^0/, "").replace(/^-0/, "−"));
  return `${s(lo)}–${s(hi)}`;
}

/**
 * A column label in at most two lines of `max` characters, broken after "-", "_" or a space (so
 * "sim-virtue-ethics" becomes "sim-virtue-" / "ethics"); the second line is clipped with an ellipsis.
 */
export function wrapLabel(label: string, max: number): string[] {
  if (label.length <= max) return [label];
  const tokens = label.match(/[^-_ ]+[-_ ]?|[-_ ]/g) ?? [label];
  let first = "";
  let i = 0;
  while (i < tokens.length && (first + tokens[i]).trimEnd().length <= max) first += tokens[i++];
  if (!first) return [clip(label, max)];
  return [first.trimEnd(), clip(tokens.slice(i).join(""), max)];
}

/**
 * The heat map as an SVG string. Drawn for a phone-width column: up to four models fit 360 px; wider matrices keep
 * their size (the page lets them scroll inside their figure) rather than shrinking their text.
 */
export function heatmap(o: HeatmapOptions): string {
  const L = HEATMAP_LAYOUT;
  const n = Math.max(1, o.cols.length);
  const colW = Math.max(L.minCol, Math.min(L.maxCol, Math.floor((L.target - L.labelWidth - 8) / n)));
  const perLine = Math.max(6, Math.floor((colW - 4) / L.charWidth));
  const colLines = o.cols.map((c) => wrapLabel(c.label, perLine));
  const headerH = Math.max(...colLines.map((l) => l.length)) * L.headerLine + 10;
  const width = L.labelWidth + n * colW + 8;
  const parts: string[] = [];
  o.cols.forEach((c, j) => {
    const cx = px(L.labelWidth + j * colW + colW / 2);
    const lines = colLines[j];
    const y0 = headerH - 6 - (lines.length - 1) * L.headerLine;
    parts.push(
      `<text class="col-label" x="${cx}" y="${y0}" font-size="11" font-weight="600" text-anchor="middle" fill="#1a1a1a"${dataAttrs({ col: c.key })}><title>${esc(c.label)}</title>` +
        lines.map((l, k) => `<tspan x="${cx}" y="${y0 + k * L.headerLine}">${esc(l)}</tspan>`).join("") +
        `</text>`,
    );
  });
  o.rows.forEach((r, i) => {
    const y = headerH + i * L.rowHeight;
    parts.push(
      `<text class="row-label" x="${L.labelWidth - 6}" y="${y + L.rowHeight / 2 + 4}" font-size="11" text-anchor="end" fill="#1a1a1a"${dataAttrs({ row: r.key })}><title>${esc(r.label)}</title>${esc(clip(r.label, L.rowLabelChars))}</text>`,
    );
    o.cols.forEach((c, j) => {
      const v = o.cell(r.key, c.key);
      const x = L.labelWidth + j * colW;
      const ok = v && finite(v.estimate);
      const fill = ok ? rampColor(v!.estimate!) : "#f2f2f2";
      const ink = ok ? textOn(fill) : "#595959";
      const attrs =
        dataAttrs({ row: r.key, col: c.key, estimate: dataNum(v?.estimate), lo: dataNum(v?.lo), hi: dataNum(v?.hi), n: dataNum(v?.n), fill }) +
        refAttrs(v?.ref);
      const tip = `${c.label}, ${r.label}: ${ok ? `${withCi(v!.estimate, v!.lo, v!.hi)}, n = ${v!.n}` : "no judged answers"}`;
      const cx = px(x + colW / 2);
      parts.push(
        `<g class="cell"${attrs}><title>${esc(tip)}</title>` +
          `<rect x="${x + 1}" y="${y + 1}" width="${colW - 2}" height="${L.rowHeight - 2}" fill="${fill}"/>` +
          (ok
            ? `<text x="${cx}" y="${y + 16}" font-size="12" font-weight="700" text-anchor="middle" fill="${ink}">${v!.estimate!.toFixed(2)}</text>` +
              `<text x="${cx}" y="${y + 29}" font-size="10" text-anchor="middle" fill="${ink}">${esc(shortCi(v!.lo, v!.hi))}</text>`
            : `<text x="${cx}" y="${y + 22}" font-size="11" text-anchor="middle" fill="${ink}">—</text>`) +
          `</g>`,
      );
    });
  });
  // Legend: the colour ramp from 0 to 1, named above it.
  const ly = headerH + o.rows.length * L.rowHeight + 30;
  const gid = `${o.id.replace(/[^A-Za-z0-9_-]/g, "-")}-ramp`;
  const stops = RAMP_STOPS.map((s, i) => `<stop offset="${(i / (RAMP_STOPS.length - 1)) * 100}%" stop-color="${s}"/>`).join("");
  const lx = 8;
  const lw = Math.min(160, width - 24);
  parts.push(
    `<defs><linearGradient id="${gid}" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient></defs>` +
      `<text x="${lx}" y="${ly - 6}" font-size="11" fill="#1a1a1a">${esc(o.valueLabel)}</text>` +
      `<rect x="${lx}" y="${ly}" width="${lw}" height="10" fill="url(#${gid})" stroke="#767676" stroke-width="0.5"/>` +
      `<text x="${lx}" y="${ly + 24}" font-size="10.5" fill="#1a1a1a">0</text>` +
      `<text x="${lx + lw / 2}" y="${ly + 24}" font-size="10.5" text-anchor="middle" fill="#1a1a1a">0.5</text>` +
      `<text x="${lx + lw}" y="${ly + 24}" font-size="10.5" text-anchor="end" fill="#1a1a1a">1</text>`,
  );
  const height = ly + 32;
  const root = dataAttrs({ chart: "heatmap" });
  // A narrow matrix (one or two models) would grow huge in a phone column: it is enlarged by at most 1.2.
  return `${svgOpen(o.id, width, height, o.title, o.description, `${root} font-family="${FONT}"`, 1.2)}${parts.join("")}</svg>`;
}
