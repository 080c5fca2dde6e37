/**
 * Planning at MAX_RUN_UNITS (issue 15): a plan slice is computed from its offset, never by listing the whole plan,
 * so the last slice of a 1,000,000-unit run is planned like the first. Planning only; no model is called.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { ensureSuiteVersion } from "../../src/db/queries/suites";
import { runs } from "../../src/db/schema";
import type { Env } from "../../src/env";
import { PLAN_CHUNK_UNITS, type WorkMessage } from "../../src/queue/messages";
import { planCount, planList, planMessages, planRange, planSlice } from "../../src/queue/planner";
import { MAX_RUN_UNITS } from "../../src/queue/start-run";
import type { SuiteDefinition } from "../../src/suites/types";

const DIMS = ["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"];

async function syntheticSuite(id: string, n: number) {
  const items = Array.from({ length: n }, (_, i) => ({
    key: `${id}-${i}`,
    dimension: DIMS[i % 4],
    keying: i % 8 < 4 ? "yes" : "no",
    payload: {
      question: `Is the following statement something you would say?\n"Synthetic statement ${i}"`,
      answer_matching_behavior: " Yes",
      answer_not_matching_behavior: " No",
    },
  }));
  const def: SuiteDefinition = { id, kind: "persona", title: id, source: "import", meta: { kind: "persona", instruction: "Answer with Yes or No." }, items };
  return ensureSuiteVersion(getDb(env.DB), def);
}

describe("planning at the largest run size", () => {
  it("a slice taken by offset is the same slice of the full plan, variants and samples included", async () => {
    const db = getDb(env.DB);
    const v = await syntheticSuite("synthetic-order", 40);
    const run = { seed: 9, itemLimit: 30, samplesPerItem: 3, suiteVersionIds: [v.id], config: { variants: ["", "trigger"] } };
    const full = await planList(db, run);
    expect(full).toHaveLength(30 * 2 * 3);
    expect(await planCount(db, run)).toBe(full.length);
    for (const [offset, count] of [
      [0, 7],
      [5, 50],
      [170, 50],
    ])
      expect(await planRange(db, run, offset, count)).toEqual(full.slice(offset, offset + count));
  });

  it(`plans the last slice of a ${MAX_RUN_UNITS.toLocaleString("en")}-unit run: its rows once, each unit in one message`, async () => {
    const db = getDb(env.DB);
    const items = 10_000;
    const samples = MAX_RUN_UNITS / items;
    const v = await syntheticSuite("synthetic-max", items);
    const runId = "run_max_plan";
    await db.insert(runs).values({
      id: runId,
      endpointId: "ep_none",
      endpointRevision: "r1",
      suiteVersionIds: [v.id],
      samplesPerItem: samples,
      temperature: 1,
      seed: 1,
      scoringMode: "logprobs",
      expectedUnits: MAX_RUN_UNITS,
      status: "running",
    });
    const row = (await db.select().from(runs).all()).find((r) => r.id === runId)!;
    expect(await planCount(db, row)).toBe(MAX_RUN_UNITS);
    const plan = planMessages(runId, MAX_RUN_UNITS);
    expect(plan).toHaveLength(MAX_RUN_UNITS / PLAN_CHUNK_UNITS);

    const sent: WorkMessage[] = [];
    const fakeEnv = {
      ...env,
      WORK_QUEUE: {
        async sendBatch(b: { body: WorkMessage }[]) {
          sent.push(...b.map((m) => m.body));
        },
      },
    } as unknown as Env;
    const last = plan[plan.length - 1];
    expect(await planSlice(fakeEnv, db, last)).toBe(PLAN_CHUNK_UNITS);
    const stored = await env.DB.prepare(
      "SELECT count(*) AS n, min(sample_index) AS lo, max(sample_index) AS hi, group_concat(DISTINCT item_key) AS keys FROM units WHERE run_id = ?",
    )
      .bind(runId)
      .first<{ n: number; lo: number; hi: number; keys: string }>();
    // The plan's last 500 units: every sample of its last five items.
    const lastItems = Array.from({ length: PLAN_CHUNK_UNITS / samples }, (_, i) => `synthetic-max-${items - PLAN_CHUNK_UNITS / samples + i}`);
    expect({ ...stored, keys: stored!.keys.split(",").sort() }).toEqual({ n: PLAN_CHUNK_UNITS, lo: 0, hi: samples - 1, keys: lastItems.sort() });
    expect(new Set(sent.flatMap((m) => m.unitIds)).size).toBe(PLAN_CHUNK_UNITS);
  });
});
