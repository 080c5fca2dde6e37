/** Unit leases taken in groups (issue 15): one D1 statement leases the units next in line for a call, with issue 12's rules. */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { leaseGroups } from "../../src/queue/consumer";
import type { WorkMessage } from "../../src/queue/messages";
import { registerSim, startRun, unanswerRun, uniqueTag, waitForRun } from "../helpers";

describe("lease groups", () => {
  it("the first unit to ask leases itself and the units queued behind it in one statement, and skips taken or settled units", async () => {
    const tag = uniqueTag("lease");
    const ep = await registerSim(`lease-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 5, limit: 8 });
    await waitForRun(run.id);
    const { results } = await env.DB.prepare("SELECT id FROM units WHERE run_id = ? ORDER BY id").bind(run.id).all<{ id: string }>();
    const ids = results.map((r) => r.id);
    expect(ids).toHaveLength(8);
    await env.DB.prepare("UPDATE units SET status = 'pending', lease_id = NULL, lease_until = NULL WHERE run_id = ?").bind(run.id).run();
    // Another delivery holds unit 5 for a minute; unit 6 is stored already.
    await env.DB.prepare("UPDATE units SET lease_id = 'other', lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds') WHERE id = ?")
      .bind(ids[5])
      .run();
    await env.DB.prepare("UPDATE units SET status = 'done' WHERE id = ?").bind(ids[6]).run();

    // D1 round trips: one per batch() and one per statement run on its own.
    let statements = 0;
    const db = env.DB;
    const countRuns = (stmt: D1PreparedStatement): D1PreparedStatement =>
      Object.assign(Object.create(stmt), {
        bind: (...v: unknown[]) => countRuns(stmt.bind(...v)),
        all: () => (statements++, stmt.all()),
        first: (c?: string) => (statements++, c ? stmt.first(c) : stmt.first()),
        run: () => (statements++, stmt.run()),
      });
    const counted = {
      ...env,
      DB: Object.assign(Object.create(db), {
        prepare: (q: string) => countRuns(db.prepare(q)),
        batch: (list: D1PreparedStatement[]) => (statements++, db.batch(list.map((x) => Object.getPrototypeOf(x) as D1PreparedStatement))),
      }),
    } as typeof env;
    const leases = leaseGroups(counted, 30_000, 4);
    for (const id of ids) leases.queue(id, run.id);

    const first = await leases.take(ids[0]);
    expect(first.taken).toBe(true);
    expect(statements).toBe(1);
    // Units 1-3 were leased with unit 0: asking costs no statement and gives the same lease.
    for (const id of ids.slice(1, 4)) expect(await leases.take(id)).toEqual(first);
    expect(statements).toBe(1);
    const held = await env.DB.prepare(`SELECT id, lease_id FROM units WHERE run_id = ? AND lease_id IS NOT NULL AND lease_id != 'other' ORDER BY id`)
      .bind(run.id)
      .all<{ id: string; lease_id: string }>();
    expect(held.results.map((r) => r.id)).toEqual(ids.slice(0, 4));

    // The next group: unit 4 and 7 are taken, 5 is another delivery's (wait for its lease), 6 is settled.
    const fourth = await leases.take(ids[4]);
    expect(fourth.taken).toBe(true);
    expect(await leases.take(ids[7])).toEqual(fourth);
    const other = await leases.take(ids[5]);
    expect(other.taken === false && !("settled" in other && other.settled) && "waitMs" in other && other.waitMs).toBeGreaterThan(50_000);
    expect(await leases.take(ids[6])).toEqual({ taken: false, settled: true });
    // One UPDATE for the group, one SELECT for the two it could not take.
    expect(statements).toBe(3);
    const until = await env.DB.prepare("SELECT (julianday(lease_until) - julianday('now')) * 86400000 AS left_ms FROM units WHERE id = ?")
      .bind(ids[7])
      .first<{ left_ms: number }>();
    expect(until!.left_ms).toBeGreaterThan(25_000);
    expect(until!.left_ms).toBeLessThanOrEqual(30_000);
  });

  it("a delivery's first calls share one lease statement: 12 units at 4 calls per invocation take 3, not one per unit for the first 4", async () => {
    // Issue 15: every unit of the first wave asked for its lease before the units behind it were in line, so each
    // took its own (64 parallel D1 writes, about 50 ms before a batch's first call on the bench).
    const tag = uniqueTag("lease-wave");
    const ep = await registerSim(`lease-wave-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 9, limit: 12 });
    await waitForRun(run.id);
    const ids = await unanswerRun(run.id);
    expect(ids).toHaveLength(12);
    let leaseStatements = 0;
    const db = env.DB;
    const counting = new Proxy(db, {
      get(target, prop) {
        if (prop === "prepare")
          return (q: string) => {
            if (/^UPDATE units SET lease_id = \?1/.test(q)) leaseStatements++;
            return target.prepare(q);
          };
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    // Two messages (a message carries at most 10 units), one delivery.
    const bodies: WorkMessage[] = [ids.slice(0, 6), ids.slice(6)].map((unitIds) => ({ v: 1, kind: "work", runId: run.id, unitIds }));
    const batch = createMessageBatch(
      "projectability-work",
      bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, DB: counting, MAX_CALLS_PER_INVOCATION: "4" }, ctx);
    await getQueueResult(batch, ctx);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM units WHERE run_id = ? AND status = 'done'").bind(run.id).first<{ n: number }>();
    expect(after!.n).toBe(12);
    expect(leaseStatements).toBe(3);
  });
});
