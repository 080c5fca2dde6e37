/**
 * @module rescore/rescore: scoring again when something changes. A new checkpoint behind an endpoint's name bumps its
 * revision and re-runs its suites; a new judge (or judge revision, or rubric version) re-judges stored answers without
 * asking the model again: new judge units whose ids include `<judge endpoint>@<revision>|<rubric>`, so each
 * (answer, judge, rubric) triple is judged once. Endpoints with a schedule are re-scored once per time slot.
 */
import { RubricIdField } from "../judges/rubrics";
import { and, desc, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import { z } from "zod";
import { chunk, type Db, insertIgnoringConflicts, runBatch } from "../db/client";
import { getEndpoint, nextRevision } from "../db/queries/endpoints";
import { getRun, type RunRow } from "../db/queries/runs";
import { currentSuiteVersion, getSuiteVersion, loadItems } from "../db/queries/suites";
import { endpoints, rescores, responses, runs, units } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { sha256Hex, unitId } from "../lib/ids";
import { sendAll, workMessages } from "../queue/messages";
import { ensurePlanned } from "../queue/run-lifecycle";
import { launchRun, prepareRun } from "../queue/start-run";
import { formatJudgeKey } from "../judges/judge-key";
import { rubricForKinds, rubricsToPin } from "../judges/rubrics";
import type { StageContext } from "../kinds/types";
import { SUITE_KINDS } from "../suites/kinds";
import type { SuiteItem } from "../suites/types";
import { SeedSchema } from "../lib/seed";

/**
 * Suite kinds whose stored answers a judge grades (safety; misalignment aligned and coherent; consistency harm 1-5 and
 * the free-form self-descriptions 0-100): re-judging re-creates their judge stages under another judge or rubric.
 */
export const REJUDGEABLE_KINDS = ["safety", "misalignment", "consistency"];
/** Suites a re-score runs when neither the request nor the endpoint names any (ours). */
export const DEFAULT_RESCORE_SUITES = ["persona-diagnostic"];

const Judge = z.object({ endpointId: z.string().min(1), rubric: RubricIdField }).strict();

export const CheckpointEvent = z
  .object({
    endpointId: z.string().min(1),
    revision: z.string().trim().min(1).max(200).optional(),
    suites: z.array(z.string().min(1)).min(1).max(20).optional(),
    judge: Judge.optional(),
    samplesPerItem: z.number().int().min(1).max(100).optional(),
    temperature: z.number().min(0).max(2).optional(),
    seed: SeedSchema.optional(),
    limit: z.number().int().min(1).optional(),
  })
  .strict();

export const RejudgeEvent = z
  .object({ runId: z.string().min(1).optional(), endpointId: z.string().min(1).optional(), judge: Judge })
  .strict()
  .refine((d) => !!d.runId !== !!d.endpointId, "give exactly one of runId or endpointId");

const derived = async (purpose: string, key: string) => `run_${(await sha256Hex(`${purpose}\u001f${key}`)).slice(0, 24)}`;

/** The endpoint's newest run with a judge, whose judge a re-score reuses for judged suites. */
async function lastJudge(db: Db, endpointId: string): Promise<{ endpointId: string; rubric: string } | null> {
  const rows = await db.select().from(runs).where(eq(runs.endpointId, endpointId)).orderBy(desc(runs.createdAt)).limit(50).all();
  const j = rows.find((r) => r.config.judge && !r.config.cai)?.config.judge;
  return j ? { endpointId: j.endpointId, rubric: j.rubricVersion } : null;
}

/** Sampling settings of the endpoint's newest run, so a re-score is comparable with what came before. */
async function lastSettings(db: Db, endpointId: string) {
  const r = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpointId)))
    .orderBy(desc(runs.createdAt))
    .limit(20)
    .all();
  const last = r.find((x) => !x.config.cai);
  return last ? { samplesPerItem: last.samplesPerItem, temperature: last.temperature, seed: last.seed, limit: last.itemLimit ?? undefined } : {};
}

/** Suites that need a judge and have none to reuse are left out, each with its reason. */
async function splitJudged(db: Db, suites: string[], judge: { endpointId: string; rubric: string } | null) {
  const kept: string[] = [];
  const skipped: { suite: string; reason: string }[] = [];
  for (const s of suites) {
    const version = await currentSuiteVersion(db, s).catch(() => null);
    if (!version) skipped.push({ suite: s, reason: "unknown suite" });
    else if (SUITE_KINDS[version.kind]?.needsJudge && !judge)
      skipped.push({ suite: s, reason: "a judged suite, and the endpoint has no earlier judge to reuse" });
    else kept.push(s);
  }
  return { kept, skipped };
}

/**
 * A new checkpoint behind the endpoint: bump its revision (or set the given one) and run its suites on it. The run id
 * comes from the delivery id and records the revision it replaced, so a retried delivery neither bumps twice nor
 * starts a second run.
 */
export async function rescoreCheckpoint(env: Env, db: Db, data: z.infer<typeof CheckpointEvent>, deliveryId: string) {
  const runId = await derived("rescore-checkpoint", deliveryId);
  let run = await db.select().from(runs).where(eq(runs.id, runId)).get();
  let created = false;
  let skipped: { suite: string; reason: string }[] = [];
  if (!run) {
    const ep = await getEndpoint(db, data.endpointId).catch(() => {
      throw new ApiError("invalid_request", `endpointId ${data.endpointId} is not a live endpoint`);
    });
    const revision = data.revision ?? nextRevision(ep.revision);
    const judge = data.judge ?? (await lastJudge(db, ep.id));
    const split = await splitJudged(db, data.suites ?? ep.rescoreSuites ?? DEFAULT_RESCORE_SUITES, judge);
    skipped = split.skipped;
    if (!split.kept.length) throw new ApiError("invalid_request", `nothing to run: ${skipped.map((s) => `${s.suite} (${s.reason})`).join(", ")}`);
    const settings = { ...(await lastSettings(db, ep.id)), ...pick(data, ["samplesPerItem", "temperature", "seed", "limit"]) };
    const prepared = await prepareRun(db, { endpointId: ep.id, suites: split.kept, ...settings, ...(judge ? { judge } : {}) }, env);
    await launchRun(env, db, {
      ...prepared,
      id: runId,
      endpointRevision: revision,
      config: { ...prepared.config, rescore: { source: "checkpoint", previousRevision: ep.revision } },
    });
    run = await getRun(db, runId);
    created = true;
  } else await ensurePlanned(env, db, run);
  // The bump follows the run (a retry after a crash finds the run and finishes the bump); it never overwrites a later change.
  const previous = run.config.rescore?.previousRevision;
  if (previous !== undefined && previous !== run.endpointRevision) {
    await db
      .update(endpoints)
      .set({ revision: run.endpointRevision, updatedAt: new Date().toISOString() })
      .where(and(eq(endpoints.id, run.endpointId), eq(endpoints.revision, previous), isNull(endpoints.deletedAt)));
  }
  return {
    runId,
    endpointId: run.endpointId,
    revision: run.endpointRevision,
    previousRevision: previous ?? null,
    suiteVersionIds: run.suiteVersionIds,
    skipped,
    created,
  };
}

function pick<T extends Record<string, unknown>>(o: T, keys: (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Re-judges a run's stored answers with another judge (endpoint, revision) or rubric: for every answered first-stage
 * unit of a judged suite, the judge units its stage would have created under that judge, created and enqueued.
 * The model is never asked again; answers that this judge and rubric already graded are not graded twice.
 */
export async function rejudgeRun(env: Env, db: Db, data: z.infer<typeof RejudgeEvent>) {
  let run: RunRow;
  if (data.runId) run = await getRun(db, data.runId);
  else {
    const newest = await db.select().from(runs).where(eq(runs.endpointId, data.endpointId!)).orderBy(desc(runs.createdAt)).all();
    const judged = newest.find((r) => !!r.config.judge && !r.config.cai);
    if (!judged) throw new ApiError("invalid_request", `endpoint ${data.endpointId} has no judged run to re-judge`);
    run = judged;
  }
  if (run.status === "cancelled") throw new ApiError("conflict", `run ${run.id} was cancelled; resume it before re-judging`);
  const judgeEp = await getEndpoint(db, data.judge.endpointId).catch(() => {
    throw new ApiError("invalid_request", `judge.endpointId ${data.judge.endpointId} is not a live endpoint`);
  });
  if (!judgeEp.callable) throw new ApiError("invalid_request", `judge.endpointId ${judgeEp.id} is record-only (callable: false) and cannot judge`);
  const kindOf = new Map<string, string>();
  const metaOf = new Map<string, Record<string, unknown>>();
  for (const sv of run.suiteVersionIds) {
    const meta = ((await getSuiteVersion(db, sv))?.meta ?? {}) as Record<string, unknown>;
    if (REJUDGEABLE_KINDS.includes(String(meta.kind))) {
      kindOf.set(sv, String(meta.kind));
      metaOf.set(sv, meta);
    }
  }
  const judgedVersions = [...kindOf.keys()];
  if (!judgedVersions.length) throw new ApiError("invalid_request", `run ${run.id} has no judged suite (${REJUDGEABLE_KINDS.join(", ")})`);
  const rubric = await rubricForKinds(db, data.judge.rubric, [...new Set(kindOf.values())]);
  const judge = { endpointId: judgeEp.id, revision: judgeEp.revision, model: judgeEp.model, rubricVersion: rubric.id };
  const key = formatJudgeKey(judge);
  // A rubric the run already pinned stays as pinned (same id, same prompt hash).
  const config = { ...run.config, rubrics: { ...rubricsToPin(rubric, [...kindOf.values()]), ...(run.config.rubrics ?? {}) } };
  // Answers stored: first-stage units that are done and have a response (no model call is needed for them).
  const answered = await db
    .select({
      id: units.id,
      kind: units.kind,
      suiteVersionId: units.suiteVersionId,
      itemKey: units.itemKey,
      sampleIndex: units.sampleIndex,
      variant: units.variant,
      answer: responses.answer,
      parsed: responses.parsed,
      score: responses.score,
    })
    .from(units)
    .innerJoin(responses, and(eq(responses.runId, units.runId), eq(responses.unitId, units.id)))
    .where(and(eq(units.runId, run.id), eq(units.stage, 0), eq(units.status, "done"), inArray(units.suiteVersionId, judgedVersions)))
    .all();
  const items = new Map<string, Map<string, SuiteItem>>();
  for (const sv of judgedVersions)
    items.set(
      sv,
      new Map((await loadItems(db, sv, [...new Set(answered.filter((a) => a.suiteVersionId === sv).map((a) => a.itemKey))])).map((it) => [it.key, it])),
    );
  // The stage's own `next`, run as if this judge had been pinned: the same judge units, keyed by the new judge.
  const ctxRun = { seed: run.seed, temperature: run.temperature, scoringMode: run.scoringMode, config: { ...config, judge } };
  const rows: (typeof units.$inferInsert & { id: string })[] = [];
  for (const a of answered) {
    const kind = SUITE_KINDS[kindOf.get(a.suiteVersionId)!];
    const stage = kind.stages[a.kind];
    const item = items.get(a.suiteVersionId)?.get(a.itemKey);
    if (!stage?.next || !item) continue;
    const ctx: StageContext = {
      unit: {
        id: a.id,
        runId: run.id,
        kind: a.kind,
        itemKey: a.itemKey,
        sampleIndex: a.sampleIndex,
        stage: 0,
        suiteVersionId: a.suiteVersionId,
        parseRetries: 0,
        variant: a.variant,
      },
      item,
      suiteMeta: metaOf.get(a.suiteVersionId)!,
      run: ctxRun,
      endpoint: { systemPrompt: null },
      seed: 0,
    };
    for (const n of stage.next(ctx, { answer: a.answer, parsed: a.parsed as Record<string, unknown>, score: a.score })) {
      if (kind.stages[n.kind]?.target !== "judge") continue;
      rows.push({ id: await unitId({ ...n, runId: run.id }), runId: run.id, parentId: a.id, ...n });
    }
  }
  const before = new Set(
    (
      await Promise.all(
        chunk(
          rows.map((r) => r.id),
          90,
        ).map((part) =>
          db
            .select({ id: units.id })
            .from(units)
            .where(and(eq(units.runId, run.id), inArray(units.id, part)))
            .all(),
        ),
      )
    )
      .flat()
      .map((r) => r.id),
  );
  const known = [run.config.judge, ...(run.config.judges ?? [])].some((j) => j && formatJudgeKey(j) === key);
  if (!known) config.judges = [...(run.config.judges ?? []), { ...judge, addedAt: new Date().toISOString() }];
  const fresh = rows.filter((r) => !before.has(r.id));
  const at = new Date().toISOString();
  await runBatch(db, [
    ...insertIgnoringConflicts(db, units, fresh),
    db
      .update(runs)
      .set({ config, ...(fresh.length ? { status: "running", completedAt: null } : {}), updatedAt: at })
      .where(eq(runs.id, run.id)),
  ]);
  // Enqueue whatever of this judge's units is still pending (new ones, or ones a crash left unsent).
  const pending = (
    await Promise.all(
      chunk(
        rows.map((r) => r.id),
        90,
      ).map((part) =>
        db
          .select({ id: units.id })
          .from(units)
          .where(and(eq(units.runId, run.id), inArray(units.id, part), eq(units.status, "pending")))
          .all(),
      ),
    )
  ).flat();
  if (pending.length) {
    if (!fresh.length)
      await db
        .update(runs)
        .set({ status: "running", completedAt: null, updatedAt: at })
        .where(and(eq(runs.id, run.id), eq(runs.status, "completed")));
    await sendAll(
      env.WORK_QUEUE,
      workMessages(
        run.id,
        pending.map((p) => p.id),
      ),
    );
  }
  const answers = new Set(rows.map((r) => r.parentId)).size;
  return {
    runId: run.id,
    judgeKey: key,
    answers,
    judgeUnits: rows.length,
    created: fresh.length,
    alreadyJudged: rows.length - fresh.length,
    enqueued: pending.length,
  };
}

/** The slot a scheduled re-score belongs to: its start, in minutes since the epoch (unique per endpoint and instant). */
export function slotStart(scheduledTime: number, intervalMinutes: number): number {
  const minutes = Math.floor(scheduledTime / 60_000);
  return Math.floor(minutes / intervalMinutes) * intervalMinutes;
}

/** Starts the re-scores that are due: at most one run per (endpoint, slot), however often the cron fires. */
export async function scheduledRescores(env: Env, db: Db, scheduledTime: number) {
  const due = await db
    .select()
    .from(endpoints)
    .where(and(isNull(endpoints.deletedAt), isNotNull(endpoints.rescoreIntervalMinutes)))
    .all();
  const started: { endpointId: string; slot: number; runId: string; created: boolean }[] = [];
  for (const ep of due) {
    const interval = ep.rescoreIntervalMinutes!;
    const slot = slotStart(scheduledTime, interval);
    const runId = await derived("rescore-schedule", `${ep.id}|${slot}`);
    try {
      const existing = await db.select().from(runs).where(eq(runs.id, runId)).get();
      if (existing) {
        await ensurePlanned(env, db, existing);
        started.push({ endpointId: ep.id, slot, runId, created: false });
        continue;
      }
      const judge = await lastJudge(db, ep.id);
      const { kept, skipped } = await splitJudged(db, ep.rescoreSuites ?? DEFAULT_RESCORE_SUITES, judge);
      for (const s of skipped) console.warn(JSON.stringify({ event: "rescore.skipped_suite", endpointId: ep.id, slot, ...s }));
      if (!kept.length) continue;
      const prepared = await prepareRun(db, { endpointId: ep.id, suites: kept, ...(await lastSettings(db, ep.id)), ...(judge ? { judge } : {}) }, env);
      try {
        await launchRun(env, db, { ...prepared, id: runId, config: { ...prepared.config, rescore: { source: "schedule", slot } } });
      } catch (err) {
        // A concurrent tick stored the same run first: that is the one re-score of this slot.
        if (!(await db.select({ id: runs.id }).from(runs).where(eq(runs.id, runId)).get())) throw err;
      }
      await db.insert(rescores).values({ endpointId: ep.id, slot, intervalMinutes: interval, runId, skipped }).onConflictDoNothing();
      started.push({ endpointId: ep.id, slot, runId, created: true });
    } catch (err) {
      console.error(JSON.stringify({ event: "rescore.error", endpointId: ep.id, slot, error: err instanceof Error ? err.message : String(err) }));
    }
  }
  return started;
}
