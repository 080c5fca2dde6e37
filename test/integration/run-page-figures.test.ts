/**
 * @module test/integration/run-page-figures: the run page renders from the same typed object as the JSON report,
 * and shows every figure of it. For each section (persona, safety, misalignment, self-report, consistency, the
 * metric layer) the test walks the strictly parsed report for every figure with an interval (an estimate with lo
 * and hi) and finds it on `GET /reports/runs/{id}` as the page formats it, with its n in the same table row.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { RunReport } from "../../src/reports/schemas/run";
import { api, htmlText, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

/**
 * The field that holds an interval's estimate, in order: a difference before the shares it is taken from (a
 * per-question difference carries `share` and `otherShare` beside `diff`, and its lo/hi are the diff's).
 */
const ESTIMATE_FIELDS = ["estimate", "diff", "delta", "rate", "matchRate", "share", "mean", "rho", "agreement"];

interface FigureOf {
  path: string;
  estimate: number;
  lo: number | null;
  hi: number | null;
  n: number | null;
}

/** Every figure with an interval in a JSON value, at any depth. */
function figures(node: unknown, path = ""): FigureOf[] {
  if (!node || typeof node !== "object") return [];
  if (Array.isArray(node)) return node.flatMap((x, i) => figures(x, `${path}/${i}`));
  const o = node as Record<string, unknown>;
  const out: FigureOf[] = [];
  const field = ESTIMATE_FIELDS.find((f) => typeof o[f] === "number");
  if (field && "lo" in o && "hi" in o)
    out.push({
      path: `${path} (${field})`,
      estimate: o[field] as number,
      lo: o.lo as number | null,
      hi: o.hi as number | null,
      n: typeof o.n === "number" ? o.n : null,
    });
  for (const [k, v] of Object.entries(o)) out.push(...figures(v, `${path}/${k}`));
  return out;
}

/** Two decimals with a true minus sign, an em dash for no figure (the pages' number format, written out here). */
const two = (x: number | null) => (x == null ? "—" : `${x < 0 && Math.abs(x).toFixed(2) !== "0.00" ? "\u2212" : ""}${Math.abs(x).toFixed(2)}`);
const signed = (x: number | null) => (x != null && x > 0 && x.toFixed(2) !== "0.00" ? `+${two(x)}` : two(x));
/** "0.71 [0.63, 0.79]", or with signs for a difference ("+0.12 [−0.05, +0.30]"). */
const ciTexts = (f: FigureOf) => [`${two(f.estimate)} [${two(f.lo)}, ${two(f.hi)}]`, `${signed(f.estimate)} [${signed(f.lo)}, ${signed(f.hi)}]`];

/** The text of each cell of every table row on the page. */
const rowsOf = (html: string) =>
  [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => htmlText(c[1])));

/** The figures of one section that its page does not show (as text, and with its n in the same table row). */
function missing(section: unknown, name: string, html: string): { checked: number; missing: string[] } {
  const text = htmlText(html);
  const rows = rowsOf(html);
  const out: string[] = [];
  const all = figures(section, name).filter((f) => Number.isFinite(f.estimate));
  for (const f of all) {
    const texts = ciTexts(f);
    if (!texts.some((t) => text.includes(t))) {
      out.push(`${f.path}: ${texts[0]} not on the page`);
      continue;
    }
    if (f.n == null) continue;
    const inRow = rows.some(
      (cells) => cells.some((c) => texts.some((t) => c.startsWith(t))) && cells.some((c) => c === String(f.n) || c.endsWith(`(n = ${f.n})`)),
    );
    if (!inRow) out.push(`${f.path}: ${texts[0]} has no row with n = ${f.n}`);
  }
  return { checked: all.length, missing: out };
}

describe("the run page shows every figure of its JSON report", () => {
  let report: RunReport;
  let html = "";
  let endpointHtml = "";

  beforeAll(async () => {
    const tag = uniqueTag("fig");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`);
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const model = await registerSim(`model-${tag}`, `inverted:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    // One run over every kind, and its base on the same items (compareWithBase starts it).
    const suites = ["persona-diagnostic", "safety", "misalignment-questions", "self-report", "persona-consistency"];
    const baseRun = await startRun({ endpointId: base.id, suites, limit: 12, samplesPerItem: 2, temperature: 0.7, seed: 9, judge: { endpointId: judge.id } });
    await waitForRun(baseRun.id, 120_000);
    const run = await startRun({ endpointId: model.id, suites, limit: 12, samplesPerItem: 2, temperature: 0.7, seed: 9, judge: { endpointId: judge.id } });
    await waitForRun(run.id, 120_000);
    const res = await api("GET", `/v1/runs/${run.id}/report`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    report = RunReport.parse(res.json);
    const page = await api("GET", `/reports/runs/${run.id}`, undefined, { admin: false });
    expect(page.status).toBe(200);
    html = page.text;
    // The endpoint page renders the same sections of the endpoint's newest run.
    const endpointPage = await api("GET", `/reports/endpoints/${model.id}`, undefined, { admin: false });
    expect(endpointPage.status).toBe(200);
    endpointHtml = endpointPage.text;
  }, 300_000);

  it("comparison: each difference's p-values under the test they come from", () => {
    expect(report.comparison?.available).toBe(true);
    if (!report.comparison?.available) return;
    const start = html.indexOf("<caption>Differences against the base</caption>");
    expect(start).toBeGreaterThan(0);
    const table = html.slice(start, html.indexOf("</table>", start));
    const head = [...table.matchAll(/<th scope="col"[^>]*>([\s\S]*?)<\/th>/g)].map((m) => htmlText(m[1]));
    const rows = rowsOf(table.slice(table.indexOf("<tbody>")));
    const p = (x: number | null | undefined) => (x == null ? "—" : x < 0.001 ? "< 0.001" : x.toPrecision(2));
    for (const d of report.comparison.deltas) {
      const row = rows.find((r) => r[0] === d.dimension.replace(/_/g, " "))!;
      expect(row, d.dimension).toBeDefined();
      expect(row[head.indexOf("p (sign-flip)")], d.dimension).toBe(p(d.pValue));
      expect(row[head.indexOf("p (Holm)")], d.dimension).toBe(p(d.pHolm));
      expect(row[head.indexOf("p (paired t)")], d.dimension).toBe(p(d.tPValue));
    }
  });

  for (const [section, least] of [
    ["persona", 4],
    ["comparison", 4],
    ["safety", 4],
    ["misalignment", 10],
    ["selfReport", 5],
    ["consistency", 10],
    ["metrics", 10],
  ] as const) {
    it(`${section}: each estimate [lo, hi] with its n`, () => {
      expect(report[section], section).toBeTruthy();
      const { checked, missing: absent } = missing(report[section], section, html);
      expect(absent).toEqual([]);
      expect(checked).toBeGreaterThanOrEqual(least);
    });
  }

  it("the endpoint page shows the same figures of its newest run", () => {
    const absent = (["persona", "comparison", "safety", "misalignment", "selfReport", "consistency", "metrics"] as const).flatMap(
      (section) => missing(report[section], section, endpointHtml).missing,
    );
    expect(absent).toEqual([]);
  });
});
