/** A 40,000-unit run is planned in chunks that respect D1's 100-parameter limit and Queues' sendBatch limit. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { ensureSuiteVersion } from "../../src/db/queries/suites";
import { runs } from "../../src/db/schema";
import type { Env } from "../../src/env";
import { PLAN_CHUNK_UNITS, SEND_BATCH_MAX, UNITS_PER_MESSAGE, type WorkMessage } from "../../src/queue/messages";
import { planMessages, planSlice } from "../../src/queue/planner";
import type { SuiteDefinition } from "../../src/suites/types";

describe("planning a large run", () => {
  it("plans 40,000 units: every unit row once, every unit in exactly one work message", async () => {
    const db = getDb(env.DB);
    const items = Array.from({ length: 4000 }, (_, i) => ({
      key: `big-${i}`,
      dimension: ["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"][i % 4],
      keying: i % 8 < 4 ? "yes" : "no",
      payload: {
        question: `Is the following statement something you would say?\n"Synthetic statement ${i}"`,
        answer_matching_behavior: " Yes",
        answer_not_matching_behavior: " No",
      },
    }));
    const def: SuiteDefinition = {
      id: "synthetic-big",
      kind: "persona",
      title: "synthetic",
      source: "import",
      meta: { kind: "persona", instruction: "Answer with Yes or No." },
      items,
    };
    const version = await ensureSuiteVersion(db, def);
    await db.insert(runs).values({
      id: "run_big",
      endpointId: "ep_none",
      endpointRevision: "r1",
      suiteVersionIds: [version.id],
      samplesPerItem: 10,
      temperature: 1,
      seed: 1,
      scoringMode: "logprobs",
      expectedUnits: 40_000,
      status: "running",
    });

    const sent: WorkMessage[] = [];
    let largestSend = 0;
    const queue = {
      async sendBatch(batch: { body: WorkMessage }[]) {
        largestSend = Math.max(largestSend, batch.length);
        sent.push(...batch.map((m) => m.body));
      },
    };
    const fakeEnv = { ...env, WORK_QUEUE: queue } as unknown as Env;
    const plan = planMessages("run_big", 40_000);
    expect(plan).toHaveLength(40_000 / PLAN_CHUNK_UNITS);
    for (const msg of plan) await planSlice(fakeEnv, db, msg);
    // A redelivered plan message adds no rows.
    await planSlice(fakeEnv, db, plan[3]);

    const stored = await env.DB.prepare(
      "SELECT count(*) AS n, count(DISTINCT item_key || ':' || sample_index) AS d FROM units WHERE run_id = 'run_big'",
    ).first<{ n: number; d: number }>();
    expect(stored).toEqual({ n: 40_000, d: 40_000 });
    expect(largestSend).toBeLessThanOrEqual(SEND_BATCH_MAX);
    expect(sent.every((m) => m.unitIds.length <= UNITS_PER_MESSAGE)).toBe(true);
    const ids = sent.flatMap((m) => m.unitIds);
    // 40,000 planned + one redelivered slice of PLAN_CHUNK_UNITS.
    expect(ids.length).toBe(40_000 + PLAN_CHUNK_UNITS);
    expect(new Set(ids).size).toBe(40_000);
  });
});
