/**
 * Multi-row inserts (issue 15): D1 binds at most 100 parameters per statement, so a VALUES list of the 17-column
 * `units` table took 5 rows per statement, and planning 1,000 units sent 200 statements (about 50-100 ms of a
 * run's start on the bench). The rows now travel as one JSON parameter per statement.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb, insertIgnoringConflicts, runBatch } from "../../src/db/client";
import { endpoints, units } from "../../src/db/schema";

describe("insertIgnoringConflicts", () => {
  it("inserts 1,000 unit rows in one statement, skips rows already there, and keeps the columns' defaults", async () => {
    const db = getDb(env.DB);
    const runId = `run_ins_${crypto.randomUUID().slice(0, 8)}`;
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      id: `u_${i}`,
      runId,
      kind: "ask",
      suiteVersionId: "sv",
      itemKey: `item "${i}" \u00e9\u2014\ud83d\ude00`,
      sampleIndex: i % 10,
      stage: 0,
      variant: i % 2 ? "trigger" : "",
    }));
    const statements = insertIgnoringConflicts(db, units, rows);
    expect(statements).toHaveLength(1);
    await runBatch(db, statements);
    // Again, with 10 rows already there and 5 new ones: only the new ones are written.
    const again = [...rows.slice(0, 10), ...Array.from({ length: 5 }, (_, i) => ({ ...rows[0], id: `u_new_${i}` }))];
    const [second] = await env.DB.batch(insertIgnoringConflicts(db, units, again));
    expect(second.meta.rows_written).toBe(5);
    const stored = await env.DB.prepare("SELECT * FROM units WHERE run_id = ? ORDER BY id").bind(runId).all<Record<string, unknown>>();
    expect(stored.results).toHaveLength(1005);
    const u7 = stored.results.find((r) => r.id === "u_7")!;
    expect(u7).toMatchObject({
      item_key: `item "7" \u00e9\u2014\ud83d\ude00`,
      sample_index: 7,
      variant: "trigger",
      status: "pending",
      attempts: 0,
      parent_id: null,
    });
    expect(typeof u7.sample_index).toBe("number");
    expect(String(u7.created_at)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("refuses a SQL expression as a value instead of storing its JSON", () => {
    const db = getDb(env.DB);
    const row = { id: "u_sql", runId: "run_sql", kind: "ask", suiteVersionId: "sv", itemKey: "i", sampleIndex: 0, createdAt: sql`CURRENT_TIMESTAMP` };
    expect(() => insertIgnoringConflicts(db, units, [row])).toThrow(/units\.created_at is a SQL expression/);
  });

  it("writes JSON columns, booleans and nulls as drizzle does", async () => {
    const db = getDb(env.DB);
    const id = `ep_ins_${crypto.randomUUID().slice(0, 8)}`;
    const row = {
      id,
      name: id,
      baseUrl: "http://127.0.0.1:1/v1",
      model: "m",
      revision: "r1",
      logprobs: true,
      callable: false,
      maxConcurrency: 3,
      requestsPerMinute: 60,
      systemPrompt: null,
      tags: ['a "quoted" tag', "b"],
      pricePerMillionInputTokens: 2.5,
    } as typeof endpoints.$inferInsert;
    await runBatch(db, insertIgnoringConflicts(db, endpoints, [row]));
    const stored = (await db.select().from(endpoints).all()).find((e) => e.id === id)!;
    expect(stored).toMatchObject({
      logprobs: true,
      callable: false,
      maxConcurrency: 3,
      systemPrompt: null,
      tags: ['a "quoted" tag', "b"],
      pricePerMillionInputTokens: 2.5,
      headerNames: [],
      private: false,
    });
  });
});
