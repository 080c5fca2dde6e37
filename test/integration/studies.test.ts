/** @module test/integration/studies: a report never fails for a missing comparison; studies over any suite kind. */
import { describe, expect, it } from "vitest";
import { ExperimentReport } from "../../src/reports/schemas/experiment";
import { RunReport } from "../../src/reports/schemas/run";
import { api, htmlText, importSuiteFile, personaFile, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

/** Two decimals with a true minus sign, an em dash for no figure (the pages' number format, written out here). */
const twoDecimals = (x: number | null) => (x == null ? "—" : `${x < 0 && Math.abs(x).toFixed(2) !== "0.00" ? "\u2212" : ""}${Math.abs(x).toFixed(2)}`);

/** The text of each body row's cells of the page table with this caption. */
function tableRows(html: string, caption: string): string[][] {
  const start = html.indexOf(`<caption>${caption.replace(/&/g, "&amp;")}</caption>`);
  expect(start, `table "${caption}"`).toBeGreaterThan(0);
  const body = html.slice(start, html.indexOf("</table>", start));
  return [...body.slice(body.indexOf("<tbody>")).matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => htmlText(c[1])),
  );
}

describe("a report never fails because a comparison is missing", () => {
  it("an imported persona suite run on an endpoint with a base gives match rates, and says why there is no comparison", async () => {
    const tag = uniqueTag("imp");
    const suite = `persona-${tag}`;
    expect((await importSuiteFile(suite, personaFile(8), "&dimension=deontology")).status).toBe(201);
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const child = await registerSim(`child-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    // The base has a run, but of another suite: no comparable base run exists.
    const baseRun = await startRun({ endpointId: base.id, suites: ["persona-diagnostic"], limit: 8, seed: 3, compareWithBase: false });
    const run = await startRun({ endpointId: child.id, suites: [suite], seed: 3, compareWithBase: false });
    await waitForRun(baseRun.id);
    await waitForRun(run.id);
    const res = await api("GET", `/v1/runs/${run.id}/report`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    RunReport.parse(res.json);
    const dim = res.json.persona.dimensions.find((d: any) => d.dimension === "deontology");
    expect(dim.n).toBe(8);
    expect(dim.matchRate).toBeGreaterThan(0.5);
    expect(dim.lo).toBeLessThanOrEqual(dim.matchRate);
    expect(res.json.comparison).toMatchObject({ available: false });
    expect(res.json.comparison.reason).toMatch(/suite versions differ/);
    // The metrics of the run come from the same layer and carry n and an interval.
    const metrics = (await api("GET", `/v1/runs/${run.id}/metrics`, undefined, { admin: false })).json;
    const m = metrics.metrics.find((x: any) => x.id === "persona.deontology.match");
    expect(m).toMatchObject({ n: 8, clusters: 8 });
    expect(m.value).toBeCloseTo(dim.matchRate, 10);
  });

  it("paired by design: a run on an endpoint with a base starts (or reuses) a comparable base run and names it", async () => {
    const tag = uniqueTag("pair");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const child = await registerSim(`child-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    const first = await api("POST", "/v1/runs", { endpointId: child.id, limit: 8, seed: 5 });
    expect(first.status, first.text).toBe(202);
    expect(first.json.base).toMatchObject({ available: true, endpointId: base.id, reused: false, extraCalls: 8 });
    await waitForRun(first.json.base.runId);
    await waitForRun(first.json.id);
    const report = RunReport.parse((await api("GET", `/v1/runs/${first.json.id}/report`)).json) as any;
    expect(report.comparison).toMatchObject({ available: true, baseRunId: first.json.base.runId });
    // The same request again reuses the completed base run: no extra calls.
    const again = await api("POST", "/v1/runs", { endpointId: child.id, limit: 8, seed: 5 });
    expect(again.json.base).toMatchObject({ available: true, runId: first.json.base.runId, reused: true, extraCalls: 0 });
    await waitForRun(again.json.id);
    const skipped = await api("POST", "/v1/runs", { endpointId: child.id, limit: 8, seed: 6, compareWithBase: false });
    expect(skipped.status).toBe(202);
    expect(skipped.json.base).toBeUndefined();
    await waitForRun(skipped.json.id);
    const plain = await api("POST", "/v1/runs", { endpointId: base.id, limit: 8, seed: 5 });
    expect(plain.json.base).toBeUndefined();
    await waitForRun(plain.json.id);
  });
});

describe("experiments for every kind", () => {
  it("a base and three members on the persona diagnostic and the misalignment questions: persona figures and misaligned shares with CIs in one report, page and export", async () => {
    const tag = uniqueTag("study");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`);
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const deon = await registerSim(`deon-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    const cons = await registerSim(`cons-${tag}`, `consequentialism:tag=${tag}`, { baseEndpointId: base.id, constitution: "consequentialism" });
    const bad = await registerSim(`bad-${tag}`, `coherent_misaligned:tag=${tag}`, { baseEndpointId: base.id });
    const exp = await api("POST", "/v1/experiments", {
      name: `study-${tag}`,
      baseEndpointId: base.id,
      members: [
        { endpointId: deon.id, constitution: "deontology", scope: "narrow" },
        { endpointId: cons.id, constitution: "consequentialism", scope: "narrow" },
        { endpointId: bad.id, scope: "narrow", arm: "misaligned" },
      ],
    });
    expect(exp.status, exp.text).toBe(201);
    const started = await api("POST", `/v1/experiments/${exp.json.id}/runs`, {
      suites: ["persona-diagnostic", "misalignment-questions"],
      judge: { endpointId: judge.id },
      samplesPerItem: 6,
      limit: 24,
      seed: 7,
    });
    expect(started.status, started.text).toBe(202);
    expect(started.json.runs).toHaveLength(4);
    for (const r of started.json.runs) expect((await waitForRun(r.runId, 58_000)).status).toBe("completed");

    const res = await api("GET", `/v1/experiments/${exp.json.id}/report?compare=projectability.deontology.projection`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    // The body is the declared OpenAPI response schema, strictly: no field missing, none undeclared.
    const r = ExperimentReport.parse(res.json) as any;
    expect(r.safety).toMatchObject({ available: false });
    const study = r.study;
    expect(study.models).toHaveLength(4);
    for (const ep of [base, deon, cons, bad]) {
      const cell = (metric: string) => study.cells.find((c: any) => c.endpointId === ep.id && c.id === metric);
      for (const metric of ["persona.deontology.match", "persona.utilitarianism.match", "misalignment.share"]) {
        const c = cell(metric);
        expect(c, `${ep.id} ${metric}`).toBeDefined();
        expect(c.n).toBeGreaterThan(0);
        expect(c.lo).toBeLessThanOrEqual(c.estimate);
        expect(c.hi).toBeGreaterThanOrEqual(c.estimate);
      }
    }
    const share = (id: string) => study.cells.find((c: any) => c.endpointId === id && c.id === "misalignment.share").estimate;
    expect(share(bad.id)).toBeGreaterThan(share(base.id) + 0.2);
    const vs = (id: string, metric: string) => study.vsBase.find((c: any) => c.endpointId === id && c.id === metric);
    // Paired on (question, sample): answers coherent in one run only have no partner and are counted as dropped.
    const cellN = (id: string) => study.cells.find((c: any) => c.endpointId === id && c.id === "misalignment.share").n;
    expect(vs(bad.id, "misalignment.share").valid).toBe(true);
    expect(vs(bad.id, "misalignment.share").dropped).toBe(cellN(bad.id) + cellN(base.id) - 2 * vs(bad.id, "misalignment.share").n);
    expect(vs(bad.id, "misalignment.share").pHolm).toBeLessThan(0.05);
    expect(vs(deon.id, "persona.deontology.match").estimate).toBeGreaterThan(0);
    // Member against member on the chosen metric, Holm across the three pairs.
    expect(study.compare.pairs).toHaveLength(3);
    for (const p of study.compare.pairs) expect(p.pHolm).toBeGreaterThanOrEqual(p.p);
    // The persona matrix per arm beside the signatures, and projectability per arm.
    expect(study.persona.arms.map((a: any) => a.arm).sort()).toEqual(["consequentialism/narrow", "deontology/narrow", "misaligned"]);
    expect(study.persona.signatures).toHaveLength(4);
    const deonArm = study.projectability.arms.find((a: any) => a.arm === "deontology/narrow");
    expect(deonArm.estimate).toBeGreaterThan(0);
    expect(study.projectability.arms.find((a: any) => a.arm === "misaligned").reason).toMatch(/constitution/);

    const text = await api("GET", `/v1/experiments/${exp.json.id}/report?format=text`, undefined, { admin: false });
    expect(text.text).toContain("misalignment.share");
    expect(text.text).toContain(`bad-${tag}`);
    expect(text.text).toMatch(/no safety matrix/);

    // The page shows the same figures.
    const page = await api("GET", `/reports/experiments/${exp.json.id}`, undefined, { admin: false });
    expect(page.status).toBe(200);
    const badShare = study.cells.find((c: any) => c.endpointId === bad.id && c.id === "misalignment.share");
    expect(page.text).toContain(badShare.estimate.toFixed(2));
    expect(page.text).toContain("misaligned share");
    // Every figure of the study matrix (estimate, lo, hi, n) is in its model's column of the metric's row.
    const table = tableRows(page.text, "Models by metrics (estimate [95% CI], n)");
    const typed = ExperimentReport.parse(res.json).study;
    let checked = 0;
    for (const c of typed.cells) {
      const row = table.find((cols) => cols[0] === typed.metrics.find((m) => m.id === c.id)!.label);
      expect(row, c.id).toBeDefined();
      const col = 1 + typed.models.findIndex((m) => m.endpointId === c.endpointId);
      expect(row![col], `${c.endpointId} ${c.id}`).toBe(`${twoDecimals(c.estimate)} [${twoDecimals(c.lo)}, ${twoDecimals(c.hi)}] n=${c.n}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4 * 3);

    // The tidy export: one row per model x metric x slice, with n, estimate, lo and hi.
    const csv = await api("GET", `/v1/experiments/${exp.json.id}/export.csv`, undefined, { admin: false });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    const header = lines[0].split(",").map((h) => h.replace(/"/g, ""));
    expect(header).toEqual(expect.arrayContaining(["slice", "endpoint_id", "metric", "n", "estimate", "lo", "hi", "method"]));
    const col = (l: string, name: string) => l.split(",")[header.indexOf(name)].replace(/"/g, "");
    const row = lines.find((l) => col(l, "slice") === "model" && col(l, "endpoint_id") === bad.id && col(l, "metric") === "misalignment.share")!;
    expect(Number(col(row, "estimate"))).toBeCloseTo(badShare.estimate, 10);
    expect(Number(col(row, "n"))).toBe(badShare.n);
    const jsonl = await api("GET", `/v1/experiments/${exp.json.id}/export.jsonl`, undefined, { admin: false });
    const records = jsonl.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.length).toBe(lines.length - 1);
    expect(records.filter((x: any) => x.slice === "vs_base").length).toBeGreaterThan(0);

    // A run's and an endpoint's metrics export the same way.
    const runCsv = await api("GET", `/v1/runs/${started.json.runs[3].runId}/metrics.csv`, undefined, { admin: false });
    expect(runCsv.status).toBe(200);
    expect(runCsv.text).toContain("misalignment.share");
    const epJsonl = await api("GET", `/v1/endpoints/${bad.id}/metrics.jsonl`, undefined, { admin: false });
    expect(
      epJsonl.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).metric),
    ).toContain("misalignment.share");
  });
});

describe("every metric everywhere", () => {
  it("the leaderboard's overview, badges and tidy exports carry metric-layer metrics; private endpoints stay hidden", async () => {
    const tag = uniqueTag("ov");
    const pub = await registerSim(`pub-${tag}`, `deontology:tag=${tag}`, { tags: [tag] });
    const hidden = await registerSim(`hid-${tag}`, `base:tag=${tag}`, { tags: [tag], private: true });
    const runs = [await startRun({ endpointId: pub.id, limit: 16, seed: 2 }), await startRun({ endpointId: hidden.id, limit: 16, seed: 2 })];
    for (const r of runs) await waitForRun(r.id);

    const lb = (await api("GET", `/v1/leaderboard?tag=${tag}`, undefined, { admin: false })).json;
    expect(lb.overview.models.map((m: any) => m.endpointId)).toEqual([pub.id]);
    const cell = lb.overview.cells.find((c: any) => c.metric === "persona.deontology.match");
    const metric = (await api("GET", `/v1/endpoints/${pub.id}/metrics`, undefined, { admin: false })).json.metrics.find(
      (m: any) => m.id === "persona.deontology.match",
    );
    expect(cell).toMatchObject({ value: metric.value, lo: metric.lo, hi: metric.hi, n: metric.n, tieGroup: null });
    expect(lb.overview.metrics.map((m: any) => m.id)).toContain("projectability.deontology.projection");
    // A combined metric equals its definition: sum over dimensions of unit-signature weight x (match rate - 0.5).
    const all = (await api("GET", `/v1/runs/${runs[0].id}/metrics`, undefined, { admin: false })).json.metrics;
    const sig = (await api("GET", "/v1/constitutions/deontology", undefined, { admin: false })).json.signature.weights;
    const dims = ["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"];
    const norm = Math.hypot(...dims.map((d) => sig[d] ?? 0));
    const expected = dims.reduce((a, d) => a + ((sig[d] ?? 0) / norm) * (all.find((m: any) => m.id === `persona.${d}.match`).value - 0.5), 0);
    const projection = all.find((m: any) => m.id === "projectability.deontology.projection");
    expect(projection.value).toBeCloseTo(expected, 10);
    expect(projection.lo).toBeLessThan(projection.value);
    const asAdmin = (await api("GET", `/v1/leaderboard?tag=${tag}`)).json;
    expect(asAdmin.overview.models).toHaveLength(2);
    const page = await api("GET", `/leaderboard?tag=${tag}`, undefined, { admin: false });
    expect(page.text).toContain('data-section="leaderboard-overview"');
    expect(page.text).not.toContain(`hid-${tag}`);

    const badge = await api("GET", `/v1/endpoints/${pub.id}/metrics/persona.deontology.match/shields.json`, undefined, { admin: false });
    expect(badge.status).toBe(200);
    expect(badge.json.message).toContain(metric.value.toFixed(2));

    expect((await api("GET", `/v1/runs/${runs[1].id}/metrics.csv`, undefined, { admin: false })).status).toBe(404);
    expect((await api("GET", `/v1/endpoints/${hidden.id}/metrics.jsonl`, undefined, { admin: false })).status).toBe(404);
    expect((await api("GET", `/v1/runs/${runs[1].id}/metrics.csv`)).status).toBe(200);
  });
});
