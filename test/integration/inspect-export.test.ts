/**
 * `GET /v1/runs/{id}/export?format=inspect`: the run as an Inspect eval log that validates against Inspect's own
 * JSON Schema (../shared/schemas/inspect, passed in by the global setup), with raw text only for the admin key.
 */
import Ajv2020 from "ajv/dist/2020";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const schema = inject("inspectSchema" as never) as Record<string, unknown> | null;
if (!schema) console.warn("inspect-export: ../shared/schemas/inspect/eval-log.schema.json is absent; schema validation is skipped");

function validator() {
  // strict: false because the schema uses OpenAPI's `discriminator` keyword, which ajv does not know.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema!);
}

describe("Inspect eval log export", () => {
  const tag = uniqueTag("insp");
  let runId = "";
  let judgeId = "";
  let privateRun = "";

  beforeAll(async () => {
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    judgeId = judge.id;
    const ep = await registerSim(`m-${tag}`, `deontology:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic", "safety"], seed: 3, limit: 16, judge: { endpointId: judge.id } });
    runId = run.id;
    const hidden = await registerSim(`h-${tag}`, `base:tag=${tag}`, { private: true });
    privateRun = (await startRun({ endpointId: hidden.id, seed: 3, limit: 8 })).id;
    await waitForRun(runId);
    await waitForRun(privateRun);
  });

  it("the log's run metadata is the run as GET /v1/runs/{id} shows it, with the endpoint's name and the suite kinds", async () => {
    const log = (await api("GET", `/v1/runs/${runId}/export?format=inspect`)).json;
    const view = (await api("GET", `/v1/runs/${runId}`)).json;
    expect(log.eval.metadata).toEqual({ ...view, endpointName: `m-${tag}`, suiteKinds: ["persona", "safety"] });
    const anonymous = (await api("GET", `/v1/runs/${runId}/export?format=inspect`, undefined, { admin: false })).json;
    const anonymousView = (await api("GET", `/v1/runs/${runId}`, undefined, { admin: false })).json;
    expect(anonymous.eval.metadata).toEqual({ ...anonymousView, endpointName: `m-${tag}`, suiteKinds: ["persona", "safety"] });
  });

  it.skipIf(!schema)("the admin log validates against Inspect's schema and carries spec, plan, results, stats and every sample", async () => {
    const res = await api("GET", `/v1/runs/${runId}/export?format=inspect`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const log = res.json;
    const validate = validator();
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    // The validator is not vacuous: a log without its task, or with a null score value, fails.
    expect(validate({ ...log, eval: { ...log.eval, task: undefined } })).toBe(false);
    expect(validate({ ...log, samples: [{ ...log.samples[0], scores: { ask: { value: null, history: [] } } }] })).toBe(false);
    expect(log).toMatchObject({ version: 2, status: "success" });
    expect(log.eval.task).toBe("persona-diagnostic+safety");
    expect(log.eval.model).toBe(`deontology:tag=${tag}`);
    expect(log.eval.model_generate_config).toMatchObject({ temperature: 1, seed: 3 });
    expect(log.eval.config.epochs).toBe(1);
    // One sample per stage-0 unit; the safety samples carry their judge's score.
    const stageZero = (await api("GET", `/v1/runs/${runId}`)).json.counts.expectedFirstStage;
    expect(log.samples).toHaveLength(stageZero);
    expect(log.results.total_samples).toBe(stageZero);
    const judged = log.samples.filter((s: any) => Object.keys(s.scores).some((k) => k.includes(judgeId)));
    expect(judged.length).toBe(16);
    for (const s of judged) expect(s.metadata.judgeKeys[0]).toMatch(new RegExp(`^${judgeId}@r1\\|`));
    // Admin: prompts and answers are there.
    const persona = log.samples.find((s: any) => s.metadata.suiteVersionId.startsWith("persona-diagnostic@"));
    expect(persona.input.length).toBeGreaterThan(10);
    expect(persona.messages.at(-1).role).toBe("assistant");
    expect(["Yes", "No"]).toContain(persona.target);
    // Results: one EvalScore per named metric of the run's report, with its CI in metadata.
    const metrics = (await api("GET", `/v1/runs/${runId}/metrics`)).json;
    const ids = (metrics.metrics ?? metrics)
      .filter((m: any) => m.value != null)
      .map((m: any) => m.id)
      .sort();
    expect(log.results.scores.map((s: any) => s.name).sort()).toEqual(ids);
    const deon = log.results.scores.find((s: any) => s.name === "persona.deontology");
    expect(deon.metadata).toMatchObject({ n: expect.any(Number), lo: expect.any(Number), hi: expect.any(Number) });
    expect(deon.metrics["persona.deontology"].value).toBeGreaterThan(0.5);
    // Stats: tokens per model and per role, equal to the stored responses' usage.
    const usage = (await api("GET", `/v1/runs/${runId}/report`)).json.usage;
    expect(log.stats.role_usage.model.input_tokens).toBe(usage.rows.filter((r: any) => r.role === "model").reduce((a: number, r: any) => a + r.inputTokens, 0));
    expect(log.stats.model_usage[`judge:tag=${tag}`].output_tokens).toBeGreaterThan(0);
  });

  it.skipIf(!schema)("the anonymous log validates too and withholds prompts and answers", async () => {
    const res = await api("GET", `/v1/runs/${runId}/export?format=inspect`, undefined, { admin: false });
    expect(res.status, res.text).toBe(200);
    const validate = validator();
    expect(validate(res.json), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    for (const s of res.json.samples) {
      expect(s.messages).toEqual([]);
      expect(s.output.completion).toBe("");
      for (const score of Object.values(s.scores) as any[]) expect(score.answer).toBeUndefined();
    }
    expect(res.json.eval.model_base_url).toBeNull();
    const stored = (await api("GET", `/v1/runs/${runId}/responses?limit=500`)).json.responses.filter((r: any) => (r.answer ?? "").length > 30);
    expect(stored.length).toBeGreaterThan(0);
    for (const r of stored) expect(res.text.includes(r.answer), "an answer leaked into the anonymous log").toBe(false);
    expect(res.headers.get("cache-control")).toMatch(/public/);
  });

  it("answers.csv / .jsonl: one row per answer with every judge's score beside it (admin only)", async () => {
    const counts = (await api("GET", `/v1/runs/${runId}`)).json.counts;
    const jsonl = await api("GET", `/v1/runs/${runId}/answers.jsonl`);
    expect(jsonl.status, jsonl.text).toBe(200);
    const rows = jsonl.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(counts.expectedFirstStage);
    const slot = `judge@1|${judgeId}@r1|safety-v1`;
    const safety = rows.filter((r) => r.suiteVersionId.startsWith("safety@"));
    expect(safety).toHaveLength(16);
    // Each safety answer's row carries its judgment: the same score and verdict as the judge unit's stored row.
    const { results } = await env.DB.prepare(
      "SELECT u.parent_id AS parent, r.score AS score, r.parsed AS parsed FROM units u JOIN responses r ON r.unit_id = u.id WHERE u.run_id = ? AND u.kind = 'judge'",
    )
      .bind(runId)
      .all<{ parent: string; score: number; parsed: string }>();
    for (const r of safety) {
      const stored = results.find((x) => x.parent === r.unitId)!;
      expect(r.scores[slot]).toMatchObject({ score: stored.score, label: JSON.parse(stored.parsed).verdict, status: "done" });
      expect(r.answer.length).toBeGreaterThan(0);
      expect(r.prompt.length).toBeGreaterThan(0);
    }
    const csv = await api("GET", `/v1/runs/${runId}/answers.csv`);
    expect(csv.status).toBe(200);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toContain(`${slot}:score,${slot}:label,${slot}:status,${slot}:answer`);
    expect(lines.length).toBe(1 + counts.expectedFirstStage);
    expect((await api("GET", `/v1/runs/${runId}/answers.csv`, undefined, { admin: false })).status).toBe(401);
  });

  it("anonymously, a run with nothing public yet answers 404; the admin log is there from the start", async () => {
    const tag2 = uniqueTag("inspn");
    const ep = await registerSim(`slow-${tag2}`, `base:latency=1000,tag=${tag2}`);
    const run = await startRun({ endpointId: ep.id, seed: 1, limit: 8 });
    const anon = await api("GET", `/v1/runs/${run.id}/export?format=inspect`, undefined, { admin: false });
    expect(anon.status).toBe(404);
    expect(anon.json.error.code).toBe("not_found");
    expect((await api("GET", `/v1/runs/${run.id}/export?format=inspect`)).json.status).toBe("started");
    await waitForRun(run.id);
    expect((await api("GET", `/v1/runs/${run.id}/export?format=inspect`, undefined, { admin: false })).status).toBe(200);
  });

  it("a private endpoint's run answers 404 without the key; a bad format is a 400", async () => {
    expect((await api("GET", `/v1/runs/${privateRun}/export?format=inspect`, undefined, { admin: false })).status).toBe(404);
    expect((await api("GET", `/v1/runs/${privateRun}/export?format=inspect`)).status).toBe(200);
    const bad = await api("GET", `/v1/runs/${runId}/export?format=xml`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
    expect((await api("GET", `/v1/runs/run_missing/export?format=inspect`)).status).toBe(404);
  });
});
