/**
 * D1 bills every row written, index entries included (issue 15: cost per 10,000 judgments). These tests pin what one
 * persona unit writes on its way through the consumer, as local D1 counts it (`meta.rows_written`), so a new index
 * or an extra update shows up here before it shows up on the bill.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import type { WorkMessage } from "../../src/queue/messages";
import { registerSim, startRun, unanswerRun, uniqueTag, waitForRun } from "../helpers";
import { ledgerScans, recordingD1 } from "../support/ledger-plans";

describe("D1 rows written per unit", () => {
  it("a planned unit is 1 row and a response 1 (both WITHOUT ROWID tables keyed by run: no index to write)", async () => {
    const unit = await env.DB.prepare(
      "INSERT INTO units (id, run_id, kind, suite_version_id, item_key, sample_index) VALUES (?1, 'run_budget', 'ask', 'sv', 'i', 0)",
    )
      .bind(`budget-${crypto.randomUUID()}`)
      .run();
    expect(unit.meta.rows_written).toBe(1);
    const r = await env.DB.prepare(
      "INSERT INTO responses (unit_id, run_id, endpoint_id, model, raw_key, raw_line, answer, parsed, score, latency_ms) VALUES (?1, 'run_budget', 'ep', 'm', 'raw/x', 0, 'Yes', '{}', 0.5, 1)",
    )
      .bind(`budget-${crypto.randomUUID()}`)
      .run();
    expect(r.meta.rows_written).toBe(1);
  });

  it("the consumer writes 3 rows per answered unit: lease 1, response 1, done 1 (no status index to move)", async () => {
    const tag = uniqueTag("budget");
    const ep = await registerSim(`budget-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 31, limit: 5 });
    await waitForRun(run.id);
    // Back to planned (as if nothing had been answered), then one delivery of all five units with counting on.
    const ids = await unanswerRun(run.id);
    const body: WorkMessage = { v: 1, kind: "work", runId: run.id, unitIds: ids };
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((l: unknown) => void lines.push(String(l)));
    const batch = createMessageBatch("projectability-work", [{ id: "m", timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    const seen = new Set<string>();
    await worker.queue(batch, { ...env, DB: recordingD1(env.DB, seen), LOG_BATCH_TIMING: "1" }, ctx);
    await getQueueResult(batch, ctx);
    log.mockRestore();
    // Every statement the consumer sent names the run: none scans units or responses (test/support/ledger-plans.ts).
    expect([...seen].filter((q) => /\bunits\b/.test(q)).length).toBeGreaterThan(2);
    expect(await ledgerScans(env.DB, seen)).toEqual([]);
    const counts = lines.map((l) => JSON.parse(l)).find((o) => o.event === "batch.counts");
    // Per unit 3 (the lease's conditional UPDATE counted too), plus 1 for the run's completion once per batch.
    expect(counts.rowsWritten).toBe(3 * ids.length + 1);
    // Their raw answers: one R2 object for the flush.
    expect(counts.r2Puts).toBe(1);
  });
});
