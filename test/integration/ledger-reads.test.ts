/**
 * The ledger tables (`units`, `responses`) have no secondary index on run_id since migration 0012: a run's rows are
 * one range of each table's primary key (run_id, id). A query that reads them without naming the run, or joins them
 * on the id alone, scans the whole table: harmless on a test database, minutes on a million-unit one. This test
 * records every SQL statement the reports, exports, progress, leaderboard and consumer send to D1 for a run of every
 * kind, and asks SQLite's planner about each: no statement may scan either table.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ADMIN, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

/** A D1 binding that records the SQL of every statement it prepares. */
function recordingD1(d1: D1Database, seen: Set<string>): D1Database {
  return new Proxy(d1, {
    get(target, prop, receiver) {
      if (prop === "prepare")
        return (sql: string) => {
          seen.add(sql);
          return target.prepare(sql);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The aliases a statement gives `units` and `responses` (and the table names themselves). */
function ledgerAliases(sql: string): Set<string> {
  const out = new Set<string>();
  for (const m of sql.matchAll(
    /\b(?:FROM|JOIN)\s+[`"]?(units|responses)[`"]?(?:\s+AS)?(?:\s+(?!(?:LEFT|JOIN|WHERE|ON|INNER|NOT|GROUP|ORDER|LIMIT)\b)(\w+))?/gi,
  )) {
    out.add(m[1].toLowerCase());
    if (m[2]) out.add(m[2]);
  }
  return out;
}

/** How many values a statement binds (D1 wants them all, even for EXPLAIN): the highest ?N, or the count of bare ?. */
function parameterCount(sql: string): number {
  const numbered = [...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1]));
  return numbered.length ? Math.max(...numbered) : (sql.match(/\?/g) ?? []).length;
}

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
    const ledger = [...seen].filter((s) => ledgerAliases(s).size);
    expect(ledger.length).toBeGreaterThan(10);
  });

  it("no statement scans units or responses (each searches the (run_id, id) key or an index)", async () => {
    const scans: string[] = [];
    for (const sql of seen) {
      const aliases = ledgerAliases(sql);
      if (!aliases.size || !/^\s*(SELECT|WITH|UPDATE|DELETE)/i.test(sql)) continue;
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...Array.from({ length: parameterCount(sql) }, () => "x"))
        .all<{ detail: string }>();
      for (const { detail } of plan.results) {
        const m = /^SCAN (\w+)/.exec(detail);
        if (m && aliases.has(m[1])) scans.push(`${detail}  <=  ${sql.replace(/\s+/g, " ").slice(0, 240)}`);
      }
    }
    expect(scans).toEqual([]);
  });
});
