/**
 * @module queue/base-run: paired by design. A run on an endpoint with a base gets a comparable base run: a completed
 * (else running) one that pins the same suite versions, seed, limit, samples and temperature is reused; otherwise one
 * is started on the same pinned items (same seed, so the same stratified items and sampling seeds). A dry run estimates
 * the base run it would start.
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { incomparability, type RunRow } from "../db/queries/runs";
import { runs } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { estimateRun, totalOf } from "./estimate";
import { launchRun, type PreparedRun, prepareRun, type RunRequestWithOptions } from "./start-run";

export interface BaseRunChoice {
  available: boolean;
  reason?: string;
  endpointId?: string;
  runId?: string;
  reused?: boolean;
  extraCalls?: number;
}

/**
 * The base comparison `prepared` (not yet launched) would get, writing nothing: a comparable base run to reuse, the
 * draft of a base run to start, or why there is none. Undefined when the endpoint has no base.
 */
export async function chooseBaseRun(
  env: Env,
  db: Db,
  body: RunRequestWithOptions,
  prepared: PreparedRun,
): Promise<{ choice: BaseRunChoice; draft?: PreparedRun } | undefined> {
  const endpoint = await getEndpoint(db, prepared.endpointId);
  if (!endpoint.baseEndpointId) return undefined;
  const base = await getEndpoint(db, endpoint.baseEndpointId).catch(() => null);
  if (!base) return { choice: { available: false, reason: `the base endpoint ${endpoint.baseEndpointId} is deleted` } };
  const mine = { ...prepared, itemLimit: prepared.itemLimit ?? null } as RunRow;
  const sameJudge = (r: RunRow) => JSON.stringify(r.config.judge ?? null) === JSON.stringify(prepared.config?.judge ?? null);
  const candidates = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, base.id), eq(runs.endpointRevision, base.revision)))
    .orderBy(desc(runs.createdAt))
    .all();
  const fits = candidates.filter((r) => r.status !== "cancelled" && sameJudge(r) && !incomparability(mine, r));
  const reuse = fits.find((r) => r.status === "completed") ?? fits[0];
  if (reuse) return { choice: { available: true, endpointId: base.id, runId: reuse.id, reused: true, extraCalls: 0 } };
  let draft: PreparedRun;
  try {
    draft = await prepareRun(
      db,
      { ...body, endpointId: base.id, seed: prepared.seed, samplesPerItem: prepared.samplesPerItem, temperature: prepared.temperature },
      env,
    );
  } catch (e) {
    if (e instanceof ApiError) return { choice: { available: false, endpointId: base.id, reason: `no base run could be started: ${e.message}` } };
    throw e;
  }
  const why = incomparability(mine, draft as RunRow);
  if (why) return { choice: { available: false, endpointId: base.id, reason: `a base run would not be comparable: ${why}` } };
  return { choice: { available: true, endpointId: base.id, reused: false, extraCalls: draft.expectedUnits }, draft };
}

/** Finds or starts the base run for `prepared` (not yet launched). Undefined when the endpoint has no base. */
export async function ensureBaseRun(env: Env, db: Db, body: RunRequestWithOptions, prepared: PreparedRun): Promise<BaseRunChoice | undefined> {
  const plan = await chooseBaseRun(env, db, body, prepared);
  if (!plan?.draft) return plan?.choice;
  const runId = await launchRun(env, db, plan.draft);
  return { available: true, endpointId: plan.choice.endpointId, runId, reused: false, extraCalls: plan.choice.extraCalls };
}

/**
 * The dry run of `prepared` with its base comparison: the base run it would start is estimated as well (its
 * `extraCalls` are then every call it makes, judgments included), a reused one costs 0 calls, and `total` adds both.
 */
export async function estimateRunWithBase(env: Env, db: Db, body: RunRequestWithOptions, prepared: PreparedRun, compareWithBase: boolean) {
  const own = await estimateRun(db, prepared);
  const plan = compareWithBase ? await chooseBaseRun(env, db, body, prepared) : undefined;
  const baseRun = plan?.draft ? await estimateRun(db, plan.draft) : undefined;
  const base =
    plan &&
    (baseRun
      ? {
          ...plan.choice,
          extraCalls: baseRun.calls.total,
          run: baseRun.run,
          expectedUnits: baseRun.expectedUnits,
          calls: baseRun.calls,
          tokens: baseRun.tokens,
          cost: baseRun.cost,
          notes: baseRun.notes,
        }
      : plan.choice);
  return { ...own, ...(base ? { base } : {}), total: totalOf(baseRun ? [own, baseRun] : [own]) };
}
