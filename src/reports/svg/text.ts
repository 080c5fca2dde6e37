/** @module reports/svg/text: escaping, number formats and data attributes shared by the server-drawn charts. */

/** Escapes text for XML/HTML element content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/**
 * A number as a data attribute: the shortest round-trip form (what JSON.stringify writes), or "null" where the
 * JSON report has null (NaN and infinities serialise as null). The browser tests compare these with the report.
 */
export function dataNum(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? String(x) : "null";
}

/** Two decimals with a true minus sign, or an em dash when there is no value. */
export function f2(x: number | null | undefined): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  const s = Math.abs(x).toFixed(2);
  return x < 0 && s !== "0.00" ? `−${s}` : s;
}

/** Signed two decimals (+0.12, −0.05). */
export function signed2(x: number | null | undefined): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  return x > 0 && x.toFixed(2) !== "0.00" ? `+${f2(x)}` : f2(x);
}

/** "0.71 [0.63, 0.79]" */
export function withCi(est: number | null | undefined, lo: number | null | undefined, hi: number | null | undefined, sign = false): string {
  const f = sign ? signed2 : f2;
  if (typeof est !== "number" || !Number.isFinite(est)) return "—";
  return `${f(est)} [${f(lo)}, ${f(hi)}]`;
}

/** A p-value for display: two significant digits, "< 0.001" below that. */
export function pFmt(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return "—";
  if (p < 0.001) return "< 0.001";
  return p.toPrecision(2);
}

/** "p = 0.03" or "p < 0.001" (with an optional name, e.g. "Holm p"). */
export function pNote(p: number | null | undefined, name = "p"): string {
  const f = pFmt(p);
  return f.startsWith("<") ? `${name} ${f}` : `${name} = ${f}`;
}

/** SVG coordinates rounded to 0.01 px (the tests compare geometry with that tolerance). */
export function px(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Joins `data-*` attributes, escaping their values. */
export function dataAttrs(attrs: Record<string, string | number | null | undefined>): string {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` data-${k}="${esc(v === null ? "null" : String(v))}"`)
    .join("");
}

/** Shortens a label to `max` characters with an ellipsis (the full text stays in a <title>). */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A safe id fragment for SVG ids and aria references. */
export function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "-");
}

/**
 * The opening of an accessible chart: role="img" labelled by its <title> and described by its <desc>, so a
 * screen reader announces the chart's name and summary (the page puts the full data in a table beside it).
 */
/**
 * Most a chart is enlarged on a wide page (ours): drawn for a 360 px column, it grows to at most 1.6 times that, so
 * its text stays near body size instead of filling a desktop screen.
 */
export const MAX_CHART_SCALE = 1.6;

export function svgOpen(id: string, width: number, height: number, title: string, desc: string, attrs = "", maxScale = MAX_CHART_SCALE): string {
  const tid = `${idPart(id)}-title`;
  const did = `${idPart(id)}-desc`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="${esc(idPart(id))}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" style="max-width:${Math.round(width * maxScale)}px" role="img" aria-labelledby="${tid}" aria-describedby="${did}"${attrs}>` +
    `<title id="${tid}">${esc(title)}</title><desc id="${did}">${esc(desc)}</desc>`
  );
}

/** Font stack for chart text: system fonts only, nothing is fetched. */
export const FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif";

/**
 * Where a plotted value comes from: a JSON document (the section's, unless `source` is given), a JSON Pointer
 * (RFC 6901) to the object holding the value, the value's field ("" when the pointer names the number itself)
 * and the field holding its n. The browser tests resolve these and compare the numbers.
 */
export interface JsonRef {
  source?: string;
  pointer: string;
  field: string;
  nField?: string;
}

/** A JSON Pointer from path segments. */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export function refAttrs(ref: JsonRef | undefined): string {
  if (!ref) return "";
  return dataAttrs({ source: ref.source, pointer: ref.pointer, field: ref.field, "n-field": ref.nField });
}

/** A horizontal CI whisker: the interval line and its two end caps (coordinates already rounded by the caller). */
export function ciWhisker(
  x1: number | string,
  x2: number | string,
  y: number | string,
  yTop: number | string,
  yBottom: number | string,
  colour: string,
): string {
  return (
    `<line class="ci" x1="${x1}" x2="${x2}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"/>` +
    `<line x1="${x1}" x2="${x1}" y1="${yTop}" y2="${yBottom}" stroke="${colour}" stroke-width="1.5"/>` +
    `<line x1="${x2}" x2="${x2}" y1="${yTop}" y2="${yBottom}" stroke="${colour}" stroke-width="1.5"/>`
  );
}
