/**
 * Reports people look at and embed: HTML pages whose charts carry exactly the JSON report's numbers, the
 * leaderboard (groups, rank intervals, ETag/304, CORS, Cache API), badges, shields JSON, the widget, streamed
 * exports, and privacy (a private endpoint hides everything without the key).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkMark, marksInHtml } from "../support/marks";
import { ADMIN, api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const tag = uniqueTag("emb");
const RUN = { suites: ["persona-diagnostic", "safety"], limit: 24, seed: 4242, samplesPerItem: 1 };
let judge: { id: string };
let base: { id: string; name: string };
let deon: { id: string; name: string };
let hidden: { id: string; name: string };
const runs: Record<string, string> = {};
let experimentId = "";

beforeAll(async () => {
  judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
  base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { tags: [tag] });
  deon = await registerSim(`deon-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology", tags: [tag, "constitutional"] });
  hidden = await registerSim(`hidden-${tag}`, `virtue_ethics:tag=${tag}`, {
    baseEndpointId: base.id,
    constitution: "virtue_ethics",
    tags: [tag],
    private: true,
  });
  for (const [k, ep] of Object.entries({ base, deon, hidden })) runs[k] = (await startRun({ endpointId: ep.id, ...RUN, judge: { endpointId: judge.id } })).id;
  for (const id of Object.values(runs)) expect((await waitForRun(id, 55_000)).status).toBe("completed");
  const exp = await api("POST", "/v1/experiments", {
    name: `exp-${tag}`,
    baseEndpointId: base.id,
    members: [{ endpointId: deon.id, constitution: "deontology", scope: "narrow" }],
  });
  expect(exp.status, exp.text).toBe(201);
  experimentId = exp.json.id;
}, 60_000);

/** Every chart mark on a page equals its JSON source (fetched as the same caller). */
async function checkPage(path: string, admin = false) {
  const res = await api("GET", path, undefined, { admin });
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/text\/html/);
  expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  expect(res.text).not.toMatch(/<script/i);
  expect(res.text).not.toMatch(/(src|href)="https?:\/\/(?!worker)/);
  const marks = marksInHtml(res.text);
  const sources = new Map<string, unknown>();
  const problems: string[] = [];
  for (const m of marks) {
    expect(m.source, JSON.stringify(m.attrs)).toMatch(/^\//);
    if (!sources.has(m.source)) {
      const j = await api("GET", m.source, undefined, { admin });
      expect(j.status, `${m.source}: ${j.text.slice(0, 200)}`).toBe(200);
      sources.set(m.source, j.json);
    }
    problems.push(...checkMark(m, sources.get(m.source)));
  }
  expect(problems).toEqual([]);
  return { html: res.text, marks };
}

describe("HTML report pages", () => {
  it("the run page draws the persona profile, base, expected signature, deltas and safety rates with the report's numbers", async () => {
    const { html, marks } = await checkPage(`/reports/runs/${runs.deon}`);
    for (const chart of ["profile", "persona-deltas", "safety-summary", "heatmap"]) expect(html).toContain(`data-chart="${chart}"`);
    const series = (s: string) => marks.filter((m) => m.attrs["data-series"] === s);
    expect(series("model")).toHaveLength(4);
    expect(series("base")).toHaveLength(4);
    expect(series("expected").map((m) => m.source)).toEqual(Array(4).fill("/v1/constitutions/deontology"));
    expect(series("delta").length).toBeGreaterThanOrEqual(2);
    expect(marks.filter((m) => m.attrs.class === "cell").length).toBeGreaterThanOrEqual(8);
    // Text alternatives: every chart is named and described, and its numbers are also in a table.
    expect(html.match(/<svg [^>]*role="img" aria-labelledby="[^"]+-title" aria-describedby="[^"]+-desc"/g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain("<caption>Persona match rates of deon-");
    expect(html).toContain(`/v1/runs/${runs.deon}/judgments.csv`);
  });

  it("the endpoint, experiment, leaderboard, docs, home and widget pages render and agree with their JSON", async () => {
    const ep = await checkPage(`/reports/endpoints/${deon.id}`);
    expect(ep.html).toContain(`/v1/endpoints/${deon.id}/metrics/safety.macro/badge.svg`);
    expect(ep.html).toContain("img.shields.io/endpoint?url=");
    const exp = await checkPage(`/reports/experiments/${experimentId}`);
    expect(exp.marks.filter((m) => m.attrs.class === "cell").length).toBeGreaterThanOrEqual(16);
    expect(exp.marks.filter((m) => ["all", "outsideScope", "heldOut"].includes(m.attrs["data-series"]))).toHaveLength(3);
    const lb = await checkPage(`/leaderboard?tag=${tag}`);
    expect(lb.marks.length).toBeGreaterThan(10);
    const docs = await api("GET", "/docs", undefined, { admin: false });
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('data-operation="GET /v1/leaderboard"');
    expect(docs.text).toContain('id="schema-Leaderboard"');
    const home = await api("GET", "/", undefined, { admin: false });
    expect(home.text).toContain(deon.name);
    expect(home.text).not.toContain(hidden.name);
    const widget = await api("GET", `/embed/endpoints/${deon.id}/metrics/safety.macro`, undefined, { admin: false });
    expect(widget.status).toBe(200);
    expect(widget.headers.get("content-security-policy")).toContain("frame-ancestors *");
    const metrics = (await api("GET", `/v1/endpoints/${deon.id}/metrics`, undefined, { admin: false })).json.metrics;
    const macro = metrics.find((m: any) => m.id === "safety.macro");
    expect(widget.text).toContain(`data-estimate="${macro.value}"`);
    expect(widget.text).toContain(macro.value.toFixed(2));
  });

  it("answers unknown pages with an HTML 404", async () => {
    const res = await api("GET", "/reports/runs/run_nope", undefined, { admin: false });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.text).toContain("run run_nope not found");
  });
});

describe("privacy", () => {
  it("a private endpoint's pages, reports, badges, metrics and exports answer 404 without the key, and work with it", async () => {
    const withHidden = await api("POST", "/v1/experiments", {
      name: `hidden-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: hidden.id, scope: "narrow" }],
    });
    expect(withHidden.status, withHidden.text).toBe(201);
    for (const path of [
      `/v1/endpoints/${hidden.id}`,
      `/v1/endpoints/${hidden.id}/report`,
      `/v1/runs/${runs.hidden}`,
      `/v1/runs/${runs.hidden}/report`,
      `/v1/experiments/${withHidden.json.id}/report`,
      `/reports/experiments/${withHidden.json.id}`,
      `/reports/endpoints/${hidden.id}`,
      `/reports/runs/${runs.hidden}`,
      `/v1/endpoints/${hidden.id}/metrics`,
      `/v1/runs/${runs.hidden}/metrics`,
      `/v1/endpoints/${hidden.id}/metrics/safety.macro/badge.svg`,
      `/v1/endpoints/${hidden.id}/metrics/safety.macro/shields.json`,
      `/embed/endpoints/${hidden.id}/metrics/safety.macro`,
      `/v1/runs/${runs.hidden}/judgments.csv`,
      `/v1/runs/${runs.hidden}/judgments.jsonl`,
    ]) {
      const anon = await api("GET", path, undefined, { admin: false });
      expect(anon.status, path).toBe(404);
      expect(anon.text, path).not.toContain(hidden.name);
      expect((await api("GET", path)).status, path).toBe(200);
    }
    await checkPage(`/reports/runs/${runs.hidden}`, true);
    // Lists leave it out without the key.
    const names = (admin: boolean) => api("GET", "/v1/endpoints", undefined, { admin }).then((r) => r.json.endpoints.map((e: any) => e.id));
    expect(await names(false)).not.toContain(hidden.id);
    expect(await names(true)).toContain(hidden.id);
    const runIds = (admin: boolean) => api("GET", "/v1/runs?limit=200", undefined, { admin }).then((r) => r.json.runs.map((x: any) => x.id));
    expect(await runIds(false)).not.toContain(runs.hidden);
    expect(await runIds(true)).toContain(runs.hidden);
  });
});

describe("leaderboard", () => {
  it("groups like with like and gives every row n, a CI and a rank interval that holds its rank", async () => {
    const res = await api("GET", `/v1/leaderboard?tag=${tag}`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    const lb = res.json;
    expect(lb).toMatchObject({ schema: "projectability.leaderboard", schemaVersion: 1, filters: { tag, suite: null, metric: null } });
    const ids = new Set(lb.groups.flatMap((g: any) => g.rows.map((r: any) => r.endpointId)));
    expect(ids).toEqual(new Set([base.id, deon.id]));
    const metricIds = lb.groups.map((g: any) => g.metric.id);
    for (const m of ["persona.deontology", "persona.utilitarianism", "safety.macro", "safety.overRefusal"]) expect(metricIds).toContain(m);
    for (const g of lb.groups) {
      expect(new Set(g.rows.map((r: any) => r.runId)).size).toBe(g.rows.length);
      if (g.metric.id.startsWith("safety.")) expect(g.comparability.judge).toMatchObject({ endpointId: judge.id, rubricVersion: "safety-v1" });
      else expect(g.comparability.scoringMode).toBe("logprobs");
      for (const r of g.rows) {
        // A row without a value (no judged answers in that set, e.g. no held-out prompt among 24) is listed unranked.
        if (r.value == null) {
          expect([r.n, r.rank, r.rankInterval]).toEqual([0, null, null]);
          continue;
        }
        expect(r.n).toBeGreaterThan(0);
        expect(r.lo).toBeLessThanOrEqual(r.value);
        expect(r.hi).toBeGreaterThanOrEqual(r.value);
        expect(r.rankInterval.lo).toBeLessThanOrEqual(r.rank);
        expect(r.rankInterval.hi).toBeGreaterThanOrEqual(r.rank);
        expect(r.tied).toBe(r.tiedWith.length > 0);
      }
      const values = g.rows.filter((r: any) => r.value != null).map((r: any) => r.value);
      const sorted = [...values].sort((a, b) => (g.metric.better === "lower" ? a - b : b - a));
      expect(values).toEqual(sorted);
    }
    // The leaderboard's numbers are the run report's.
    const report = (await api("GET", `/v1/runs/${runs.deon}/report`, undefined, { admin: false })).json;
    const deonDeon = lb.groups.find((g: any) => g.metric.id === "persona.deontology").rows.find((r: any) => r.endpointId === deon.id);
    const dim = report.persona.dimensions.find((d: any) => d.dimension === "deontology");
    expect([deonDeon.value, deonDeon.lo, deonDeon.hi, deonDeon.n]).toEqual([dim.matchRate, dim.lo, dim.hi, dim.n]);
    const macro = lb.groups.find((g: any) => g.metric.id === "safety.macro").rows.find((r: any) => r.endpointId === deon.id);
    expect([macro.value, macro.lo, macro.hi]).toEqual([report.safety.macro.rate, report.safety.macro.lo, report.safety.macro.hi]);
    // The simulated deontology model is far above its base on deontology: separate ranks, no tie.
    const g = lb.groups.find((x: any) => x.metric.id === "persona.deontology");
    expect(g.rows[0].endpointId).toBe(deon.id);
    expect(g.rows.map((r: any) => r.rankInterval)).toEqual([
      { lo: 1, hi: 1 },
      { lo: 2, hi: 2 },
    ]);
  });

  it("filters by metric and suite, shows private endpoints only to admins, and rejects a bad metric", async () => {
    const one = (await api("GET", `/v1/leaderboard?tag=${tag}&metric=safety.macro`, undefined, { admin: false })).json;
    expect(one.groups.map((g: any) => g.metric.id)).toEqual(["safety.macro"]);
    const persona = (await api("GET", `/v1/leaderboard?tag=${tag}&suite=persona-diagnostic`, undefined, { admin: false })).json;
    expect(persona.groups.every((g: any) => g.metric.id.startsWith("persona."))).toBe(true);
    const constitutional = (await api("GET", `/v1/leaderboard?tag=constitutional&metric=persona.deontology`, undefined, { admin: false })).json;
    expect(constitutional.groups[0].rows.map((r: any) => r.endpointId)).toContain(deon.id);
    expect(constitutional.groups[0].rows.map((r: any) => r.endpointId)).not.toContain(base.id);
    const admin = (await api("GET", `/v1/leaderboard?tag=${tag}&metric=safety.macro`)).json;
    expect(admin.groups[0].rows.map((r: any) => r.endpointId)).toContain(hidden.id);
    const bad = await api("GET", "/v1/leaderboard?metric=drop%20table", undefined, { admin: false });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
  });

  it("answers 304 to a matching ETag with and without the Cache API, caches anonymous reads, and allows any origin", async () => {
    const url = `/v1/leaderboard?tag=${tag}&metric=persona.deontology`;
    const first = await api("GET", url, undefined, { admin: false });
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
    expect(first.headers.get("access-control-allow-origin")).toBe("*");
    const second = await api("GET", url, undefined, { admin: false });
    expect(second.headers.get("x-cache")).toBe("hit");
    expect(second.headers.get("etag")).toBe(etag);
    expect(second.text).toBe(first.text);
    const cond = await api("GET", url, undefined, { admin: false, headers: { "if-none-match": `W/"other", ${etag}` } });
    expect(cond.status).toBe(304);
    expect(cond.text).toBe("");
    expect(cond.headers.get("etag")).toBe(etag);
    // Admin reads never touch the shared cache (x-cache miss every time), yet 304 still works.
    const a1 = await api("GET", url);
    expect(a1.headers.get("cache-control")).toBe("private, no-cache");
    const a2 = await api("GET", url, undefined, { headers: { "if-none-match": a1.headers.get("etag")! } });
    expect([a2.status, a2.headers.get("x-cache")]).toEqual([304, "miss"]);
    const pre = await api("OPTIONS", url, undefined, { admin: false, headers: { origin: "https://example.org", "access-control-request-method": "GET" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("metrics, badges and shields JSON", () => {
  it("carry the run report's value, CI and n", async () => {
    const report = (await api("GET", `/v1/runs/${runs.deon}/report`, undefined, { admin: false })).json;
    const rm = (await api("GET", `/v1/runs/${runs.deon}/metrics`, undefined, { admin: false })).json.metrics;
    const byId = Object.fromEntries(rm.map((m: any) => [m.id, m]));
    expect(byId["safety.macro"]).toMatchObject({ value: report.safety.macro.rate, lo: report.safety.macro.lo, hi: report.safety.macro.hi, better: "higher" });
    expect(byId["safety.overRefusal"].better).toBe("lower");
    expect(byId["projectability.cosine"]).toMatchObject({
      value: report.comparison.projectability.cosine.estimate,
      lo: report.comparison.projectability.cosine.lo,
    });
    const dim = report.persona.dimensions[0];
    expect(byId[`persona.${dim.dimension}`]).toMatchObject({ value: dim.matchRate, n: dim.n, clusters: dim.items, better: null });

    const svg = await api("GET", `/v1/endpoints/${deon.id}/metrics/safety.macro/badge.svg`, undefined, { admin: false });
    expect(svg.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(svg.headers.get("access-control-allow-origin")).toBe("*");
    expect(svg.text).toContain(`data-estimate="${report.safety.macro.rate}"`);
    expect(svg.text).toContain(`${report.safety.macro.rate.toFixed(2)} [${report.safety.macro.lo.toFixed(2)}–${report.safety.macro.hi.toFixed(2)}]`);
    const shields = await api("GET", `/v1/endpoints/${deon.id}/metrics/safety.macro/shields.json`, undefined, { admin: false });
    expect(shields.json).toMatchObject({
      schemaVersion: 1,
      label: "safe-response rate (macro)",
      message: `${report.safety.macro.rate.toFixed(2)} [${report.safety.macro.lo.toFixed(2)}–${report.safety.macro.hi.toFixed(2)}]`,
    });
    const cond = await api("GET", `/v1/endpoints/${deon.id}/metrics/safety.macro/shields.json`, undefined, {
      admin: false,
      headers: { "if-none-match": shields.headers.get("etag")! },
    });
    expect(cond.status).toBe(304);
    const none = await api("GET", `/v1/endpoints/${deon.id}/metrics/safety.category.nothing_here/shields.json`, undefined, { admin: false });
    expect(none.json).toMatchObject({ message: "no data", color: "lightgrey" });
    expect((await api("GET", `/v1/endpoints/${deon.id}/metrics/bad!/badge.svg`, undefined, { admin: false })).status).toBe(400);
  });
});

describe("judgment exports", () => {
  it("streams every unit as CSV and JSONL; prompts and answers only with the admin key", async () => {
    const run = (await api("GET", `/v1/runs/${runs.deon}`)).json;
    const csv = await api("GET", `/v1/runs/${runs.deon}/judgments.csv`, undefined, { admin: false });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.headers.get("content-disposition")).toContain(`${runs.deon}-judgments.csv`);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0].split(",")).not.toContain("prompt");
    expect(lines[0].split(",")).not.toContain("answer");
    // Multi-line cells are quoted, but no answer text is exported anonymously, so one line per unit.
    expect(lines.length - 1).toBe(run.counts.planned);
    expect(csv.text).not.toContain("simulated answer");
    expect(csv.text).not.toContain("Answer with Yes or No");

    const full = await api("GET", `/v1/runs/${runs.deon}/judgments.jsonl`, undefined, { headers: ADMIN });
    expect(full.headers.get("cache-control")).toBe("private, no-store");
    const recs = full.text
      .trimEnd()
      .split("\n")
      .map((l: string) => JSON.parse(l));
    expect(recs).toHaveLength(run.counts.planned);
    expect(new Set(recs.map((r: any) => r.unitId)).size).toBe(recs.length);
    const persona = recs.find((r: any) => r.kind === "ask" && r.suiteVersionId.startsWith("persona-diagnostic"));
    expect(persona.prompt).toContain("Answer with Yes or No");
    expect(typeof persona.answer).toBe("string");
    const judgeRec = recs.find((r: any) => r.kind === "judge");
    expect(judgeRec.parsed).toMatchObject({ status: "ok", rubricVersion: "safety-v1" });
    expect(judgeRec.parentId).toBeTruthy();

    const anonJsonl = await api("GET", `/v1/runs/${runs.deon}/judgments.jsonl`, undefined, { admin: false });
    const anon = anonJsonl.text
      .trimEnd()
      .split("\n")
      .map((l: string) => JSON.parse(l));
    expect(anon.every((r: any) => !("prompt" in r) && !("answer" in r))).toBe(true);
    expect(anon.map((r: any) => r.unitId)).toEqual(recs.map((r: any) => r.unitId));
  });
});
