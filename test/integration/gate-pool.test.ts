/**
 * A consumer batch takes its endpoint's gate slots in a few Durable Object calls (issue 15: two calls per unit were
 * overhead), while the gate still holds maxConcurrency and requestsPerMinute across batches.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import type { EndpointGate } from "../../src/providers/gate";
import { GatePool } from "../../src/providers/gate-pool";

const testEnv = env as unknown as Env;
const gateOf = (name: string) => testEnv.ENDPOINT_GATE.get(testEnv.ENDPOINT_GATE.idFromName(name)) as unknown as DurableObjectStub<EndpointGate>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `n` fake calls of `callMs` each through a pool, as a batch's units would; answers peak local concurrency. */
async function throughPool(pool: GatePool, endpoint: string, limits: { maxConcurrency: number; requestsPerMinute: number }, n: number, callMs: number) {
  let inFlight = 0;
  let peak = 0;
  const outcomes = await Promise.all(
    Array.from({ length: n }, async () => {
      const g = await pool.acquire(endpoint, limits);
      if (!g.granted) return "deferred";
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(callMs);
      inFlight--;
      pool.release(endpoint, g.leaseId);
      return "done";
    }),
  );
  return { peak, done: outcomes.filter((o) => o === "done").length, deferred: outcomes.filter((o) => o === "deferred").length };
}

describe("batched gate slots", () => {
  it("acquireMany grants up to maxConcurrency in one call; releaseMany frees them in one", async () => {
    const gate = gateOf(`many-${Date.now()}`);
    const limits = { maxConcurrency: 4, requestsPerMinute: 1000 };
    const g = await gate.acquireMany(limits, 10, 5_000, 100, 0);
    expect(g.granted && g.leaseIds.length).toBe(4);
    // Full: a second caller gets nothing within its short wait.
    const other = await gate.acquireMany(limits, 1, 5_000, 50, 0);
    expect(other.granted).toBe(false);
    await gate.releaseMany(g.granted ? g.leaseIds : [], 0, 0);
    expect((await gate.snapshot()).inFlight).toBe(0);
  });

  it("start permits count against requestsPerMinute at once, and unspent ones are refunded", async () => {
    const gate = gateOf(`rpm-${Date.now()}`);
    const limits = { maxConcurrency: 2, requestsPerMinute: 10 };
    const g = await gate.acquireMany(limits, 2, 5_000, 100, 20);
    if (!g.granted) throw new Error("expected a grant");
    // 2 leases + at most 8 permits: never more starts than the window allows.
    expect(g.leaseIds.length + g.starts).toBe(10);
    expect((await gate.snapshot()).startedLastMinute).toBe(10);
    await gate.releaseMany(g.leaseIds, 5, g.startsAt);
    expect((await gate.snapshot()).startedLastMinute).toBe(5);
  });

  it("a batch of 60 calls holds maxConcurrency with a handful of gate calls instead of two per call", async () => {
    const name = `pool-${Date.now()}`;
    const limits = { maxConcurrency: 3, requestsPerMinute: 100_000 };
    const pool = new GatePool(testEnv, 5_000, 2_000, new Map([[name, 60]]));
    const r = await throughPool(pool, name, limits, 60, 5);
    await pool.close();
    expect(r).toMatchObject({ done: 60, deferred: 0 });
    expect(r.peak).toBeLessThanOrEqual(3);
    expect(r.peak).toBe(3);
    expect(pool.rpcs).toBeLessThan(10);
    expect((await gateOf(name).snapshot()).inFlight).toBe(0);
  });

  it("the first gate call asks for every slot the batch can use: its units still to ask, up to the endpoint's concurrency and the invocation's call cap", async () => {
    // Issue 15: the first call asked for one slot (one unit was waiting), so filling the endpoint took a second round trip.
    const limits = { maxConcurrency: 4, requestsPerMinute: 100_000 };
    const name = `first-${Date.now()}`;
    const pool = new GatePool(testEnv, 5_000, 2_000, new Map([[name, 10]]), 8);
    const g = await pool.acquire(name, limits);
    expect(g.granted).toBe(true);
    expect(pool.rpcs).toBe(1);
    expect(pool.leasesGranted).toBe(4);
    await pool.close();
    // An invocation that makes at most 2 calls at once never holds more than 2 of the endpoint's slots.
    const capped = `capped-${Date.now()}`;
    const small = new GatePool(testEnv, 5_000, 2_000, new Map([[capped, 10]]), 2);
    const r = await throughPool(small, capped, limits, 10, 5);
    expect(r).toMatchObject({ done: 10, deferred: 0 });
    expect(r.peak).toBe(2);
    expect(small.leasesGranted).toBe(2);
    await small.close();
    expect((await gateOf(capped).snapshot()).inFlight).toBe(0);
  });

  it("two batches on one endpoint share its concurrency; neither goes beyond it", async () => {
    const name = `two-${Date.now()}`;
    const limits = { maxConcurrency: 4, requestsPerMinute: 100_000 };
    const a = new GatePool(testEnv, 5_000, 5_000, new Map([[name, 20]]));
    const b = new GatePool(testEnv, 5_000, 5_000, new Map([[name, 20]]));
    let inFlight = 0;
    let peak = 0;
    const run = (pool: GatePool) =>
      Promise.all(
        Array.from({ length: 20 }, async () => {
          const g = await pool.acquire(name, limits);
          if (!g.granted) return false;
          inFlight++;
          peak = Math.max(peak, inFlight);
          await sleep(10);
          inFlight--;
          pool.release(name, g.leaseId);
          return true;
        }),
      ).finally(() => pool.close());
    const [ra, rb] = await Promise.all([run(a), run(b)]);
    expect([...ra, ...rb].every(Boolean)).toBe(true);
    expect(peak).toBeLessThanOrEqual(4);
  });

  it("requestsPerMinute holds through re-used slots: calls beyond the window are deferred, not made", async () => {
    const name = `rpmpool-${Date.now()}`;
    const limits = { maxConcurrency: 2, requestsPerMinute: 5 };
    const pool = new GatePool(testEnv, 5_000, 300, new Map([[name, 8]]));
    const r = await throughPool(pool, name, limits, 8, 5);
    await pool.close();
    expect(r.done).toBe(5);
    expect(r.deferred).toBe(3);
    expect((await gateOf(name).snapshot()).startedLastMinute).toBe(5);
  });
});
