/**
 * The ledger tables (`units`, `responses`) have no secondary index on run_id since migration 0012: a run's rows are
 * one range of each table's primary key (run_id, id). A query that reads them without naming the run, or joins them
 * on the id alone, scans the whole table: harmless on a test database, minutes on a million-unit one. This test
 * records every SQL statement the reports, exports, progress and leaderboard send to D1 for a run of several kinds,
 * and asks SQLite's planner about each: no statement may scan either table (the consumer's statements are checked the
 * same way in d1-row-budget.test.ts).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ADMIN, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";
import { ledgerScans, recordingD1 } from "../support/ledger-plans";

describe("ledger reads name the run", () => {
  const seen = new Set<string>();
  let runId = "";
  let endpointId = "";

  beforeAll(async () => {
    const tag = uniqueTag("lr");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`);
    const model = await registerSim(`model-${tag}`, `base:tag=${tag}`);
    endpointId = model.id;
    const suites = ["persona-diagnostic", "safety", "misalignment-questions", "self-report"];
    runId = (await startRun({ endpointId: model.id, suites, limit: 8, samplesPerItem: 2, seed: 5, judge: { endpointId: judge.id } })).id;
    expect((await waitForRun(runId, 120_000)).status).toBe("completed");
    const recording = { ...env, DB: recordingD1(env.DB, seen) };
    for (const path of [
      `/v1/runs/${runId}`,
      `/v1/runs/${runId}/report`,
      `/v1/runs/${runId}/metrics`,
      `/v1/runs/${runId}/responses`,
      `/v1/runs/${runId}/judge-agreement`,
      `/v1/runs/${runId}/judgments.csv`,
      `/v1/runs/${runId}/judgments.jsonl`,
      `/v1/runs/${runId}/export?format=inspect`,
      `/v1/endpoints/${model.id}/metrics`,
      `/reports/endpoints/${model.id}`,
      `/v1/leaderboard`,
      `/reports/runs/${runId}`,
    ]) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://worker${path}`, { headers: ADMIN }), recording, ctx);
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
      expect(res.status, path).toBeLessThan(500);
    }
  });

  it("records the report and export reads of units and responses", () => {
    const ledger = [...seen].filter((s) => /\b(units|responses)\b/.test(s));
    expect(ledger.length).toBeGreaterThan(10);
  });

  it("no statement scans units or responses (each searches the (run_id, id) key or an index)", async () => {
    expect(await ledgerScans(env.DB, seen)).toEqual([]);
  });
});
