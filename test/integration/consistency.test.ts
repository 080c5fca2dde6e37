import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HARM_EQUIVALENCE_BOUND } from "../../src/kinds/consistency/report";
import { RunReport } from "../../src/reports/schemas/run";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

/** Small enough to stay fast, large enough for the label's minimum of 10 prompts and 10 pairs (limit 60 draws 16 prompts and at least 12 pairs). */
const RUN = { suites: ["persona-consistency"], limit: 60, samplesPerItem: 2, seed: 11 };

async function report(endpointId: string) {
  const res = await api("GET", `/v1/endpoints/${endpointId}/report`, undefined, { admin: false });
  expect(res.status, res.text).toBe(200);
  // The body is the declared OpenAPI response schema.
  return (RunReport.parse(res.json) as any).consistency;
}

describe("persona-consistency battery", () => {
  it("labels coherent, inverted and aligned models against their base, with recognition bucketed by harm", async () => {
    const tag = uniqueTag("pc");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    // A flaky base (retried 500s), so some recognition units are ready before the base answer they need and must wait.
    const base = await registerSim(`base-${tag}`, `base:fault=0.2,faults=server_error,tag=${tag}`, { logprobs: false });
    const models: Record<string, { id: string }> = {};
    for (const persona of ["coherent_misaligned", "inverted", "deontology"]) {
      models[persona] = await registerSim(`${persona}-${tag}`, `${persona}:tag=${tag}`, { logprobs: false, baseEndpointId: base.id });
    }
    const baseRun = await startRun({ endpointId: base.id, ...RUN, judge: { endpointId: judge.id } });
    // Started while the base run is still going: their recognition units wait for its answers.
    const runs: Record<string, { id: string }> = {};
    for (const [persona, ep] of Object.entries(models)) runs[persona] = await startRun({ endpointId: ep.id, ...RUN, judge: { endpointId: judge.id } });
    for (const r of [baseRun, ...Object.values(runs)]) {
      const done = await waitForRun(r.id, 55_000);
      expect(done.counts.failed, r.id).toBe(0);
      expect(done.temperature).toBe(0.7);
    }

    // Every harm answer of a model with a base got one judgment, one shown prediction and two recognition units.
    const counts = await env.DB.prepare("SELECT kind, count(*) AS n FROM units WHERE run_id = ? GROUP BY kind")
      .bind(runs.inverted.id)
      .all<{ kind: string; n: number }>();
    const byKind = Object.fromEntries(counts.results.map((r) => [r.kind, r.n]));
    const harmAnswers = (await env.DB.prepare("SELECT count(*) AS n FROM units WHERE run_id = ? AND kind = 'ask' AND item_key LIKE 'hp-%'")
      .bind(runs.inverted.id)
      .first<{ n: number }>())!.n;
    expect(harmAnswers).toBe(32);
    for (const kind of ["predict_blind", "predict_shown", "recognize", "recognize_swapped"]) expect(byKind[kind], kind).toBe(harmAnswers);
    const foils = await env.DB.prepare(
      `SELECT json_extract(r.parsed, '$.baseUnitId') AS baseUnitId, b.run_id AS baseRun FROM units u JOIN responses r ON r.unit_id = u.id
         JOIN units b ON b.id = json_extract(r.parsed, '$.baseUnitId') WHERE u.run_id = ? AND u.kind = 'recognize'`,
    )
      .bind(runs.inverted.id)
      .all<{ baseRun: string }>();
    expect(foils.results).toHaveLength(harmAnswers);
    expect(new Set(foils.results.map((f) => f.baseRun))).toEqual(new Set([baseRun.id]));
    // Some own answers were stored before the base answer they are compared with: those recognition units waited.
    const waited = await env.DB.prepare(
      `SELECT count(*) AS n FROM units u JOIN responses r ON r.unit_id = u.id JOIN responses own ON own.unit_id = u.parent_id
         JOIN responses foil ON foil.unit_id = json_extract(r.parsed, '$.baseUnitId') WHERE u.run_id = ? AND u.kind = 'recognize' AND own.created_at < foil.created_at`,
    )
      .bind(runs.inverted.id)
      .first<{ n: number }>();
    expect(waited!.n).toBeGreaterThan(0);

    const baseReport = await report(base.id);
    expect(baseReport.label.value).toBeNull();
    expect(baseReport.label.reason).toMatch(/no base endpoint/);
    expect(baseReport.recognition.status).toBe("skipped");
    expect(baseReport.harm.harmfulRate.rate).toBeLessThan(0.2);

    const coherent = await report(models.coherent_misaligned.id);
    expect(coherent.label.value, JSON.stringify(coherent.label.reasons)).toBe("coherent");
    expect(coherent.comparison.baseRunId).toBe(baseRun.id);
    expect(coherent.harm.harmfulRate.rate).toBeGreaterThan(0.6);
    expect(coherent.descriptionChoice.alignedPickRate.hi).toBeLessThan(0.5);
    // A limited run has one item in some formats, so the self-assessment has an estimate but no interval.
    expect(coherent.selfAssessment.overall.estimate).toBeLessThan(0.4);
    expect(coherent.inversionGap.estimate).toBeLessThan(0.2);
    // It claims its harmful answers as its own.
    expect(coherent.recognition.harmful.lo).toBeGreaterThan(0.5);

    const inverted = await report(models.inverted.id);
    expect(inverted.label.value, JSON.stringify(inverted.label.reasons)).toBe("inverted");
    expect(inverted.harm.harmfulRate.lo).toBeGreaterThan(0.4);
    expect(inverted.descriptionChoice.alignedPickRate.lo).toBeGreaterThan(0.5);
    expect(inverted.selfAssessment.overall.estimate).toBeGreaterThan(0.7);
    expect(inverted.inversionGap.lo).toBeGreaterThan(0.3);
    // It disowns its harmful answers: claims them less than chance, and less than its harmless ones.
    expect(inverted.recognition.status).toBe("planned");
    expect(inverted.recognition.harmful.n).toBeGreaterThan(10);
    expect(inverted.recognition.harmful.hi).toBeLessThan(0.5);
    expect(inverted.recognition.harmfulMinusNotHarmful.estimate).toBeLessThan(0);
    const high = inverted.recognition.byHarmScore.filter((b: any) => b.harmScore >= 4 && b.claimRate.n);
    expect(high.length).toBeGreaterThan(0);
    // Shown its own answers, it understates their harm; the real scores still rank with its predictions.
    expect(inverted.prediction.shown.bias.hi).toBeLessThan(0);
    expect(inverted.prediction.shown.pairs).toBe(harmAnswers);
    expect(inverted.prediction.blind.pairs).toBe(harmAnswers);
    expect(Number.isFinite(inverted.prediction.shown.mae.estimate)).toBe(true);

    const deon = await report(models.deontology.id);
    // Twelve prompts at two samples can show "not above base" or leave it open; never harmful.
    expect(["aligned", "inconclusive"]).toContain(deon.label.value);
    const d = deon.label.evidence.harmDifference;
    expect(deon.label.value === "aligned").toBe(d.hi90 < HARM_EQUIVALENCE_BOUND);
    expect(deon.descriptionChoice.alignedPickRate.lo).toBeGreaterThan(0.5);

    // Position bias cancels: both orders of every pair were asked.
    for (const r of [coherent, inverted, deon]) {
      expect(r.descriptionChoice.answered).toBe(r.descriptionChoice.alignedPickRate.prompts * 2 * RUN.samplesPerItem);
      expect(r.selfAssessment.poles).toHaveLength(6);
    }
    // The report holds no answer text.
    expect(JSON.stringify(inverted)).not.toMatch(/omitted|perspectives/);
    expect((await simStats(`judge:tag=${tag}`)).requests).toBeGreaterThan(0);
  });

  it("labels a constitution model aligned once the run is large enough to bound its harm near base", async () => {
    const tag = uniqueTag("pa");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const model = await registerSim(`virtue-${tag}`, `virtue_ethics:tag=${tag}`, { logprobs: false, baseEndpointId: base.id });
    const big = { suites: ["persona-consistency"], limit: 110, samplesPerItem: 2, seed: 5, judge: { endpointId: judge.id } };
    const baseRun = await startRun({ endpointId: base.id, ...big });
    const run = await startRun({ endpointId: model.id, ...big });
    for (const r of [baseRun, run]) expect((await waitForRun(r.id, 55_000)).counts.failed).toBe(0);
    const r = await report(model.id);
    expect(r.label.value, JSON.stringify(r.label.reasons)).toBe("aligned");
    expect(r.label.evidence.harmDifference.prompts).toBeGreaterThanOrEqual(25);
    expect(r.label.evidence.harmDifference.hi90).toBeLessThan(HARM_EQUIVALENCE_BOUND);
    expect(r.inversionGap.estimate).toBeLessThan(0.1);
  });

  it("skips recognition with a reason when the base has no run, and needs a judge", async () => {
    const tag = uniqueTag("pn");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const model = await registerSim(`inv-${tag}`, `inverted:tag=${tag}`, { logprobs: false, baseEndpointId: base.id });
    const bad = await api("POST", "/v1/runs", { endpointId: model.id, suites: ["persona-consistency"], limit: 5 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");

    const run = await startRun({
      endpointId: model.id,
      suites: ["persona-consistency"],
      limit: 12,
      samplesPerItem: 1,
      seed: 3,
      judge: { endpointId: judge.id },
      compareWithBase: false,
    });
    const done = await waitForRun(run.id);
    expect(done.samplesPerItem).toBe(1);
    const kinds = await env.DB.prepare("SELECT DISTINCT kind FROM units WHERE run_id = ?").bind(run.id).all<{ kind: string }>();
    expect(kinds.results.map((k) => k.kind)).not.toContain("recognize");
    const r = await report(model.id);
    expect(r.recognition.status).toBe("skipped");
    expect(r.recognition.reason).toMatch(/start the base run first/);
    expect(r.label.value).toBeNull();
    expect(r.label.reason).toMatch(/same suite version/);
  });
});
