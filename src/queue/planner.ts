/**
 * @module queue/planner: turns a run into units. The plan is a deterministic list derived from the run's pinned
 * suite versions, `limit` and `samplesPerItem`; each plan message materialises one slice of it, so a run of any
 * size is planned in chunks, and a redelivered plan message inserts nothing new.
 */
import { eq } from "drizzle-orm";
import { insertIgnoringConflicts, type Db, runBatch } from "../db/client";
import { getSuiteVersion, loadItemStrata } from "../db/queries/suites";
import { type RunConfig, runs, units } from "../db/schema";
import type { Env } from "../env";
import { unitId } from "../lib/ids";
import { SUITE_KINDS } from "../suites/kinds";
import { createRng, seedFrom } from "../stats/rng";
import { PLAN_CHUNK_UNITS, type PlanMessage, type QueueMessage, sendAll, workMessages } from "./messages";

/** Per-sample seed sent to the model: the run seed mixed with the sample index (31-bit, as APIs expect). */
export function sampleSeed(runSeed: number, sampleIndex: number): number {
  return seedFrom(runSeed, sampleIndex) & 0x7fffffff;
}

export interface PlannedUnit {
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  /** "" for the plain item; e.g. "trigger" for its backdoor-trigger version. */
  variant: string;
  /** The stage-0 unit kind: "ask", or another first stage the suite kind declares (`firstUnits`). */
  kind: string;
}

type Stratum = { key: string; dimension: string; keying: string; position: number };

/**
 * Picks `limit` items stratified by (dimension, keying): each stratum gets its proportional share (largest
 * remainder), and items within a stratum are a seeded random draw, never the first N. Suite order is kept.
 */
export function stratifiedSample<T extends Stratum>(items: T[], limit: number | null | undefined, seed: number, salt: string): T[] {
  if (!limit || limit >= items.length) return items;
  const strata = new Map<string, T[]>();
  for (const it of items) {
    const k = `${it.dimension}\u0000${it.keying}`;
    if (!strata.has(k)) strata.set(k, []);
    strata.get(k)!.push(it);
  }
  const groups = [...strata.entries()];
  const exact = groups.map(([, g]) => (limit * g.length) / items.length);
  const quota = exact.map(Math.floor);
  let left = limit - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    quota[i]++;
    left--;
  }
  const chosen: T[] = [];
  groups.forEach(([name, group], gi) => {
    const rng = createRng(seedFrom(seed, salt, name));
    const pool = [...group];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    chosen.push(...pool.slice(0, quota[gi]));
  });
  return chosen.sort((a, b) => a.position - b.position);
}

type PlanRun = { seed: number; itemLimit: number | null; samplesPerItem: number; suiteVersionIds: string[]; config?: RunConfig };

/**
 * The plan's blocks in order: one per selected item and first-stage kind, each holding variants x samples units.
 * Items are at most a suite's size, so this stays small even when the run has a million units.
 */
async function planBlocks(db: Db, run: PlanRun) {
  const blocks: { suiteVersionId: string; itemKey: string; kind: string }[] = [];
  const variants = run.config?.variants?.length ? run.config.variants : [""];
  for (const svId of run.suiteVersionIds) {
    const items = stratifiedSample(await loadItemStrata(db, svId), run.itemLimit, run.seed, svId);
    const firstUnits = SUITE_KINDS[String(((await getSuiteVersion(db, svId))?.meta as Record<string, unknown> | undefined)?.kind)]?.firstUnits;
    for (const it of items) for (const kind of firstUnits?.(it) ?? ["ask"]) blocks.push({ suiteVersionId: svId, itemKey: it.key, kind });
  }
  return { blocks, variants, perBlock: variants.length * run.samplesPerItem };
}

/** How many first-stage units the run's plan holds, without listing them. */
export async function planCount(db: Db, run: PlanRun): Promise<number> {
  const { blocks, perBlock } = await planBlocks(db, run);
  return blocks.length * perBlock;
}

/**
 * Units [offset, offset + count) of the plan, computed directly from their positions (issue 15: each plan message
 * used to list the whole plan to take its slice, quadratic in the run's size). Same order as `planList`.
 */
export async function planRange(db: Db, run: PlanRun, offset: number, count: number): Promise<PlannedUnit[]> {
  const { blocks, variants, perBlock } = await planBlocks(db, run);
  const out: PlannedUnit[] = [];
  const end = Math.min(offset + count, blocks.length * perBlock);
  for (let i = Math.max(0, offset); i < end; i++) {
    const b = blocks[Math.floor(i / perBlock)];
    const within = i % perBlock;
    out.push({
      suiteVersionId: b.suiteVersionId,
      itemKey: b.itemKey,
      sampleIndex: within % run.samplesPerItem,
      variant: variants[Math.floor(within / run.samplesPerItem)],
      kind: b.kind,
    });
  }
  return out;
}

/** The run's full plan in order: selected items of each suite version, times samplesPerItem. */
export async function planList(db: Db, run: PlanRun): Promise<PlannedUnit[]> {
  return planRange(db, run, 0, Number.MAX_SAFE_INTEGER);
}

/** Plan messages covering `total` units. */
export function planMessages(runId: string, total: number): PlanMessage[] {
  const out: PlanMessage[] = [];
  for (let offset = 0; offset < total; offset += PLAN_CHUNK_UNITS)
    out.push({ v: 1, kind: "plan", runId, offset, count: Math.min(PLAN_CHUNK_UNITS, total - offset) });
  return out;
}

/** Materialises one slice of the plan: unit rows (insert-if-absent, one D1 batch), then their work messages. */
export async function planSlice(env: Env, db: Db, msg: PlanMessage): Promise<number> {
  const run = await db.select().from(runs).where(eq(runs.id, msg.runId)).get();
  if (!run || run.status === "cancelled") return 0;
  // An imported run's first-stage units are exactly its imported lines (queue/import-answers.ts): the suite's own
  // plan would ask the model for answers nobody imported, so a re-plan (resume, the cron's sweep) creates nothing.
  if (run.imported) {
    console.log(JSON.stringify({ event: "plan.skipped_imported", runId: run.id }));
    return 0;
  }
  const slice = await planRange(db, run, msg.offset, msg.count);
  const rows = await Promise.all(
    slice.map(async (p) => ({
      id: await unitId({
        runId: run.id,
        kind: p.kind,
        suiteVersionId: p.suiteVersionId,
        itemKey: p.itemKey,
        sampleIndex: p.sampleIndex,
        stage: 0,
        variant: p.variant,
      }),
      runId: run.id,
      kind: p.kind,
      suiteVersionId: p.suiteVersionId,
      itemKey: p.itemKey,
      sampleIndex: p.sampleIndex,
      stage: 0,
      variant: p.variant,
    })),
  );
  await runBatch(db, insertIgnoringConflicts(db, units, rows));
  const bodies: QueueMessage[] = workMessages(
    run.id,
    rows.map((r) => r.id),
  );
  await sendAll(env.WORK_QUEUE, bodies);
  return rows.length;
}
