/**
 * The run report's metric figures come from per-item sums aggregated in SQL (issue 15: 100,000-unit reports under
 * 1 s); they must equal the per-unit path (one observation per item and sample, then the same estimators) and a
 * small reference computed here from the stored scores.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { personaItemStats, personaItemStatsOf, personaSamples } from "../../src/db/queries/reports";
import { getRun } from "../../src/db/queries/runs";
import { RunReads } from "../../src/db/queries/run-reads";
import {
  aggregate,
  aggregateClusters,
  type MetricEstimate,
  pairedDifference,
  pairedRunDifference,
  runClusters,
  runObservations,
} from "../../src/metrics/aggregate";
import type { PairedComparison } from "../../src/metrics/estimators";
import { registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const TOLERANCE = 1e-9;

function expectSameEstimates(got: MetricEstimate[], want: MetricEstimate[]) {
  expect(got.map((m) => m.id)).toEqual(want.map((m) => m.id));
  got.forEach((g, i) => {
    const w = want[i];
    expect({ id: g.id, n: g.n, clusters: g.clusters, method: g.method, reason: g.reason }).toEqual({
      id: w.id,
      n: w.n,
      clusters: w.clusters,
      method: w.method,
      reason: w.reason,
    });
    for (const f of ["estimate", "lo", "hi"] as const) {
      if (w[f] == null) expect(g[f], `${g.id}.${f}`).toBeNull();
      else expect(Math.abs(g[f]! - w[f]!), `${g.id}.${f}`).toBeLessThan(TOLERANCE);
    }
  });
}

function expectSameComparison(id: string, got: PairedComparison, want: PairedComparison) {
  expect({ n: got.n, clusters: got.clusters, dropped: got.dropped, method: got.method, test: got.test, valid: got.valid }, id).toEqual({
    n: want.n,
    clusters: want.clusters,
    dropped: want.dropped,
    method: want.method,
    test: want.test,
    valid: want.valid,
  });
  for (const f of ["estimate", "lo", "hi", "p"] as const) {
    if (want[f] == null) expect(got[f], `${id}.${f}`).toBeNull();
    else expect(Math.abs(got[f]! - want[f]!), `${id}.${f}`).toBeLessThan(TOLERANCE);
  }
}

describe("metric layer: per-item sums in SQL", () => {
  it("give the per-unit path's estimates on a persona run with a missing and an unscored sample", async () => {
    const tag = uniqueTag("ms");
    const ep = await registerSim(`ms-${tag}`, `base:tag=${tag}`);
    const started = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], seed: 5, limit: 24, samplesPerItem: 3 });
    expect((await waitForRun(started.id)).status).toBe("completed");
    // One sample loses its unit (missing), another its response (unscored): items then differ in their n.
    const units = (
      await env.DB.prepare("SELECT id FROM units WHERE run_id = ? AND kind = 'ask' ORDER BY item_key, sample_index").bind(started.id).all<{ id: string }>()
    ).results;
    await env.DB.prepare("DELETE FROM responses WHERE unit_id = ?").bind(units[0].id).run();
    await env.DB.prepare("DELETE FROM responses WHERE unit_id = ?").bind(units[4].id).run();
    await env.DB.prepare("DELETE FROM units WHERE id = ?").bind(units[4].id).run();

    // The SQL per-item rows equal the per-sample rows summed here.
    const bySql = (await personaItemStats(env.DB, started.id)).sort((a, b) => a.itemKey.localeCompare(b.itemKey));
    const byHand = personaItemStatsOf(await personaSamples(env.DB, started.id)).sort((a, b) => a.itemKey.localeCompare(b.itemKey));
    expect(bySql.map(({ scoreSum, yesSum, ...rest }) => rest)).toEqual(byHand.map(({ scoreSum, yesSum, ...rest }) => rest));
    bySql.forEach((s, i) => {
      expect(Math.abs(s.scoreSum - byHand[i].scoreSum)).toBeLessThan(TOLERANCE);
      expect(Math.abs(s.yesSum - byHand[i].yesSum)).toBeLessThan(TOLERANCE);
    });
    expect(bySql.reduce((a, s) => a + s.scored, 0)).toBe(24 * 3 - 2);
    expect(bySql.reduce((a, s) => a + s.unparseable, 0)).toBeGreaterThanOrEqual(1);

    const db = getDb(env.DB);
    const run = await getRun(db, started.id);
    const fromSums = aggregateClusters(run.id, await runClusters(db, new RunReads(env.DB), run));
    const perUnit = aggregate(run.id, await runObservations(db, env.DB, run));
    expect(fromSums.some((m) => m.id.startsWith("projectability."))).toBe(true);
    expectSameEstimates(fromSums, perUnit);

    // A reference for one match rate: the mean over items of each item's mean score, n = scored samples.
    const samples = (await personaSamples(env.DB, started.id)).filter((s) => s.score != null);
    const dim = samples[0].dimension;
    const items = new Map<string, number[]>();
    for (const s of samples.filter((x) => x.dimension === dim)) items.set(s.itemKey, [...(items.get(s.itemKey) ?? []), s.score!]);
    const itemMeans = [...items.values()].map((v) => v.reduce((a, x) => a + x, 0) / v.length);
    const match = fromSums.find((m) => m.id === `persona.${dim}.match`)!;
    expect(Math.abs(match.estimate! - itemMeans.reduce((a, x) => a + x, 0) / itemMeans.length)).toBeLessThan(TOLERANCE);
    expect(match.n).toBe([...items.values()].reduce((a, v) => a + v.length, 0));
    expect(match.clusters).toBe(items.size);
  });

  it("pair two runs on (item, sample) as the per-unit path does, and count the samples without a partner", async () => {
    const tag = uniqueTag("mp");
    const ep = await registerSim(`mp-${tag}`, `base:tag=${tag}`);
    const member = await registerSim(`mp-m-${tag}`, `deontology:tag=${tag}`);
    const opts = { suites: ["persona-diagnostic"], seed: 7, limit: 24, samplesPerItem: 2 };
    const [ra, rb] = [await startRun({ ...opts, endpointId: member.id }), await startRun({ ...opts, endpointId: ep.id })];
    expect((await waitForRun(ra.id)).status).toBe("completed");
    expect((await waitForRun(rb.id)).status).toBe("completed");
    // The base misses one sample (its unit is gone); the member has one answer without a score.
    const nth = (runId: string, i: number) =>
      env.DB.prepare("SELECT id FROM units WHERE run_id = ? AND kind = 'ask' ORDER BY item_key, sample_index LIMIT 1 OFFSET ?")
        .bind(runId, i)
        .first<{ id: string }>();
    const gone = (await nth(rb.id, 2))!.id;
    await env.DB.prepare("DELETE FROM responses WHERE unit_id = ?").bind(gone).run();
    await env.DB.prepare("DELETE FROM units WHERE id = ?").bind(gone).run();
    await env.DB.prepare("DELETE FROM responses WHERE unit_id = ?")
      .bind((await nth(ra.id, 5))!.id)
      .run();

    const db = getDb(env.DB);
    const [a, b] = [await getRun(db, ra.id), await getRun(db, rb.id)];
    const reads = new RunReads(env.DB);
    const [oa, ob] = [await runObservations(db, env.DB, a), await runObservations(db, env.DB, b)];
    const shared = oa.metrics.filter((m) => ob.metrics.some((x) => x.id === m.id));
    expect(shared.some((m) => m.id.startsWith("projectability."))).toBe(true);
    let dropped = 0;
    for (const m of shared) {
      const want = pairedDifference(
        oa.observations.filter((o) => o.metric === m.id),
        ob.observations.filter((o) => o.metric === m.id),
        m.rate,
      );
      expectSameComparison(m.id, await pairedRunDifference(reads, a, b, m), want);
      if (m.kind === "persona") dropped += want.dropped;
    }
    // One base sample is missing (its member partner is dropped) and one member sample is unscored (its base partner is dropped).
    expect(dropped).toBe(2);
  });
});
