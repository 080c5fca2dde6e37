import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SAFETY_RUBRIC_VERSION } from "../../src/judges/safety-rubric";
import { RunReport } from "../../src/reports/schemas/run";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";
import { RAW_REF_COLUMNS, withRawSide } from "../raw-helpers";

async function judge(tag: string, model = `judge:tag=${tag}`) {
  return registerSim(`judge-${tag}`, model, { logprobs: false });
}

describe("safety runs with an LLM judge", () => {
  it("judges every answer once through the queue and stores raw output, verdict, rubric and judge model", async () => {
    const tag = uniqueTag("s");
    const j = await judge(tag);
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, suites: ["safety"], seed: 5, limit: 30, judge: { endpointId: j.id } });
    const done = await waitForRun(run.id);
    expect(done.judge).toMatchObject({ endpointId: j.id, revision: "r1", model: `judge:tag=${tag}`, rubricVersion: SAFETY_RUBRIC_VERSION });
    expect(done.counts).toMatchObject({ expected: 60, expectedFirstStage: 30, plannedFirstStage: 30, planned: 60, done: 60, failed: 0 });
    // Per stage, done never exceeds that stage's expected count.
    expect(done.counts.stages).toMatchObject({ asks: { expected: 30, done: 30 }, judgments: { expected: 30, done: 30 }, followUps: { expected: 0, done: 0 } });
    expect((await simStats(`judge:tag=${tag}`)).requests).toBe(30);

    const { results } = await env.DB.prepare(
      `SELECT u.judge, u.parent_id, r.model, r.answer, ${RAW_REF_COLUMNS}, r.parsed FROM units u JOIN responses r ON r.unit_id = u.id WHERE u.run_id = ? AND u.kind = 'judge'`,
    )
      .bind(run.id)
      .all<{
        judge: string;
        parent_id: string;
        model: string;
        answer: string;
        unitId: string;
        rawKey: string | null;
        rawLine: number | null;
        parsed: string;
      }>();
    expect(results).toHaveLength(30);
    for (const r of await withRawSide(results)) {
      expect(r.judge).toBe(`${j.id}@r1|${SAFETY_RUBRIC_VERSION}`);
      expect(r.model).toBe(`judge:tag=${tag}`);
      expect(r.raw.choices[0].message.content).toBe(r.answer);
      expect(JSON.parse(r.parsed)).toMatchObject({ status: "ok", rubricVersion: SAFETY_RUBRIC_VERSION });
    }

    // The body is the declared OpenAPI response schema (strict where the sections are typed in full).
    const report = RunReport.parse((await api("GET", `/v1/runs/${run.id}/report`, undefined, { admin: false })).json) as any;
    expect(report.safety.judge.rubricVersion).toBe(SAFETY_RUBRIC_VERSION);
    const cats = report.safety.categories;
    expect(cats.length).toBeGreaterThanOrEqual(8);
    const judged = cats.reduce((a: number, c: any) => a + c.n, 0) + report.safety.overRefusal.n;
    expect(judged).toBe(30);
    for (const c of cats) {
      expect(c.method).toBe("wilson");
      expect(c.lo).toBeLessThanOrEqual(c.rate);
      expect(c.hi).toBeGreaterThanOrEqual(c.rate);
      for (const s of c.subcategories) expect(typeof s.heldOut).toBe("boolean");
    }
    expect(report.safety.macro.categories).toBe(cats.length);

    // Re-reporting reuses the stored judgments: no new judge calls.
    await api("GET", `/v1/runs/${run.id}/report`);
    expect((await simStats(`judge:tag=${tag}`)).requests).toBe(30);
  });

  it("retries an unparseable judgment once, then counts it as unparseable, never drops it", async () => {
    const tag = uniqueTag("g");
    const j = await judge(tag, `judge:garbage=1,tag=${tag}`);
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, suites: ["safety"], seed: 6, limit: 10, judge: { endpointId: j.id } });
    const done = await waitForRun(run.id);
    expect(done.counts).toMatchObject({ done: 20, failed: 0 });
    expect((await simStats(`judge:garbage=1,tag=${tag}`)).requests).toBe(20);
    const rows = await env.DB.prepare("SELECT parse_retries FROM units WHERE run_id = ? AND kind = 'judge'").bind(run.id).all<{ parse_retries: number }>();
    expect(rows.results.map((r) => r.parse_retries)).toEqual(Array(10).fill(1));
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(report.safety.totals.unparseable).toBe(10);
  });

  it("a half-garbage judge recovers on the retry for some answers", async () => {
    const tag = uniqueTag("h");
    const model = `judge:garbage=0.5,tag=${tag}`;
    const j = await judge(tag, model);
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, suites: ["safety"], seed: 7, limit: 40, judge: { endpointId: j.id } });
    await waitForRun(run.id);
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    const stats = await simStats(model);
    // Every judge unit asked once, the unparseable ones exactly once more.
    const retried = (await env.DB.prepare("SELECT count(*) AS n FROM units WHERE run_id = ? AND parse_retries = 1").bind(run.id).first<{ n: number }>())!.n;
    expect(stats.requests).toBe(40 + retried);
    expect(retried).toBeGreaterThan(5);
    expect(report.safety.totals.unparseable).toBeLessThan(retried);
  });

  it("needs a judge for safety suites and validates it", async () => {
    const ep = await registerSim(uniqueTag("nj"), `base:tag=${uniqueTag()}`);
    expect((await api("POST", "/v1/runs", { endpointId: ep.id, suites: ["safety"] })).status).toBe(400);
    expect((await api("POST", "/v1/runs", { endpointId: ep.id, suites: ["safety"], judge: { endpointId: "ep_missing" } })).status).toBe(400);
    expect((await api("POST", "/v1/runs", { endpointId: ep.id, suites: ["safety"], judge: { endpointId: ep.id, rubric: "v0" } })).status).toBe(400);
  });

  it("qualifies a judge on our labelled fixture: agreement and Cohen's kappa", async () => {
    const tag = uniqueTag("fx");
    const j = await judge(tag);
    const run = await startRun({ endpointId: j.id, suites: ["safety-judge-fixture"], seed: 1 });
    await waitForRun(run.id);
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(report.judgeAgreement.items).toBeGreaterThanOrEqual(60);
    expect(report.judgeAgreement.verdict.agreement).toBeGreaterThan(0.8);
    expect(report.judgeAgreement.verdict.kappa).toBeGreaterThan(0.7);
    expect(report.judgeAgreement.labels).toMatch(/ours/);
  });
});
