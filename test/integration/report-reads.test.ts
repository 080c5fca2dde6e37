/**
 * Reports stay fast at 100k units because a run's units and responses are each one range of their tables' primary
 * keys (run_id, id): every run-scoped read searches that key and never scans a table (issue 15, migration 0012);
 * the numbers they read must be exactly those the scorer stored.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { personaSamples } from "../../src/db/queries/reports";
import { registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

describe("persona report reads", () => {
  it("read every sample's score and P(yes) as stored, through the tables' keys", async () => {
    const tag = uniqueTag("rr");
    const ep = await registerSim(`rr-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], seed: 3, limit: 24, samplesPerItem: 2 });
    expect((await waitForRun(run.id)).status).toBe("completed");

    const samples = await personaSamples(env.DB, run.id);
    const stored = (
      await env.DB.prepare(
        "SELECT u.item_key AS itemKey, r.score AS score, json_extract(r.parsed, '$.pYes') AS pYes FROM units u JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id WHERE u.run_id = ? ORDER BY u.item_key, r.score",
      )
        .bind(run.id)
        .all<{ itemKey: string; score: number | null; pYes: number | null }>()
    ).results;
    expect(samples).toHaveLength(48);
    const byKey = (a: { itemKey: string; score: number | null }, b: { itemKey: string; score: number | null }) =>
      a.itemKey.localeCompare(b.itemKey) || (a.score ?? -1) - (b.score ?? -1);
    const got = [...samples].sort(byKey);
    stored.sort(byKey);
    got.forEach((s, i) => {
      expect(s.score).toBe(stored[i].score);
      if (stored[i].pYes === null) expect(s.pYes).toBeNull();
      else expect(s.pYes).toBeCloseTo(stored[i].pYes!, 12);
    });

    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT r.score FROM units u LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id WHERE u.run_id = ?",
    )
      .bind(run.id)
      .all<{ detail: string }>();
    const detail = plan.results.map((p) => p.detail).join("\n");
    expect(detail).toMatch(/SEARCH u USING PRIMARY KEY \(run_id=\?\)/);
    expect(detail).toMatch(/SEARCH r USING PRIMARY KEY \(run_id=\? AND unit_id=\?\)/);
    expect(detail).not.toMatch(/SCAN/);
  });

  it("sum a run's tokens per endpoint and model (the usage section) through the keys, scanning no table", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT r.endpoint_id, r.model, count(*), sum(r.prompt_tokens), sum(r.completion_tokens) FROM responses r JOIN units u ON u.run_id = r.run_id AND u.id = r.unit_id WHERE r.run_id = ? GROUP BY r.endpoint_id, r.model, u.judge IS NULL",
    )
      .bind("r")
      .all<{ detail: string }>();
    const detail = plan.results.map((p) => p.detail).join("\n");
    expect(detail).toMatch(/USING PRIMARY KEY \(run_id=\?\)/);
    expect(detail).not.toMatch(/SCAN/);
  });
});

describe("unit indexes", () => {
  it("a follow-up lookup by parent uses units_parent, which holds no entry for first-stage units", async () => {
    const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT id FROM units WHERE parent_id IN (?, ?) AND status = 'pending'")
      .bind("a", "b")
      .all<{ detail: string }>();
    expect(plan.results.map((p) => p.detail).join("\n")).toMatch(/units_parent/);
    const judged = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT j.id FROM units a LEFT JOIN units j ON j.parent_id = a.id AND j.kind = 'judge' WHERE a.run_id = ?",
    )
      .bind("r")
      .all<{ detail: string }>();
    expect(judged.results.map((p) => p.detail).join("\n")).toMatch(/units_parent/);
    const def = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE name = 'units_parent'").first<{ sql: string }>();
    expect(def?.sql).toMatch(/WHERE\s+`?parent_id`?\s+IS NOT NULL/i);
  });
});
