/**
 * @module queue/start-run: validates a run request, pins suite versions and the judge, and hands the plan to
 * the queue. Preparing and launching are separate so an experiment can check every run before starting any.
 */
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { currentSuiteVersion, getSuiteVersion } from "../db/queries/suites";
import { type RunConfig, runs } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { rubricForKinds, rubricsToPin } from "../judges/rubrics";
import { SAFETY_RUBRIC_VERSION } from "../judges/safety-rubric";
import { priceOf } from "../lib/prices";
import { SUITE_KINDS } from "../suites/kinds";
import { misalignmentRunConfig, type MisalignmentRunOptions } from "../kinds/misalignment/run-options";
import { sendAll } from "./messages";
import { planCount, planMessages } from "./planner";

/**
 * Largest run we accept (first-stage units = items x variants x first units x samples). Planning is chunked and each
 * slice is computed from its offset, so this bounds D1 size per run, not memory or planning time. With raw answers in
 * R2 (db/raw-answers.ts) a persona unit takes about 1 KB of D1 (measured by `npm run bench`, docs/capacity.md) and a
 * judged unit adds a judge unit and its answer, so even a judged run of 10^6 stays near a quarter of D1's 10 GB (ours).
 */
export const MAX_RUN_UNITS = 1_000_000;

export interface RunRequest {
  endpointId: string;
  suites: string[];
  /** Left out: the suites' declared default (`SuiteKind.defaults`), else 1. */
  samplesPerItem?: number;
  /** Left out: the suites' declared default, else 1. */
  temperature?: number;
  seed?: number;
  limit?: number;
  judge?: { endpointId: string; rubric?: string };
}

/** A run request with the misalignment battery's options (trigger variants, judge scoring). */
export type RunRequestWithOptions = RunRequest & MisalignmentRunOptions;

export type PreparedRun = typeof runs.$inferInsert;

/** `env` lets the run probe its judge (misalignment suites); without it an undeclared judge is sampled. */
export async function prepareRun(db: Db, body: RunRequestWithOptions, env?: Env, opts: { imported?: boolean } = {}): Promise<PreparedRun> {
  const endpoint = await getEndpoint(db, body.endpointId).catch(() => {
    throw new ApiError("invalid_request", `endpointId ${body.endpointId} is not a live endpoint`);
  });
  if (!endpoint.callable && !opts.imported)
    throw new ApiError("invalid_request", `endpoint ${endpoint.id} is record-only (callable: false); import its answers with POST /v1/runs/import`);
  const versions = [];
  for (const name of [...new Set(body.suites)]) {
    const v = await currentSuiteVersion(db, name).catch((e) => {
      throw e instanceof ApiError && e.code === "not_found" ? new ApiError("invalid_request", `unknown suite ${name}`) : e;
    });
    if (!SUITE_KINDS[v.kind]) throw new ApiError("invalid_request", `suite ${name} is of kind ${v.kind}, which runs cannot execute yet`);
    versions.push(v);
  }
  let config: RunConfig = {};
  if (versions.some((v) => SUITE_KINDS[v.kind].needsJudge)) {
    if (!body.judge) throw new ApiError("invalid_request", "judged suites (safety, misalignment, persona-consistency) need a judge: { judge: { endpointId } }");
    const judge = await getEndpoint(db, body.judge.endpointId).catch(() => {
      throw new ApiError("invalid_request", `judge.endpointId ${body.judge!.endpointId} is not a live endpoint`);
    });
    if (!judge.callable) throw new ApiError("invalid_request", `judge.endpointId ${judge.id} is record-only (callable: false) and cannot judge`);
    const rubric = await rubricForKinds(
      db,
      body.judge.rubric ?? SAFETY_RUBRIC_VERSION,
      versions.map((v) => v.kind),
    );
    config = {
      judge: { endpointId: judge.id, revision: judge.revision, model: judge.model, rubricVersion: rubric.id },
      rubrics: rubricsToPin(
        rubric,
        versions.map((v) => v.kind),
      ),
    };
    if (priceOf(judge)) config.prices = { [judge.id]: priceOf(judge)! };
  }
  // Prices are pinned when the run starts, so a later price change does not rewrite what a run cost.
  if (priceOf(endpoint)) config.prices = { ...config.prices, [endpoint.id]: priceOf(endpoint)! };
  config = {
    ...config,
    ...(await misalignmentRunConfig(
      db,
      env,
      body,
      endpoint,
      versions.map((v) => v.kind),
      config,
    )),
  };
  const seed = body.seed ?? crypto.getRandomValues(new Uint32Array(1))[0] % 2 ** 31;
  const samplesPerItem = body.samplesPerItem ?? kindDefault(versions, "samplesPerItem");
  const temperature = body.temperature ?? kindDefault(versions, "temperature");
  const draft = { seed, itemLimit: body.limit ?? null, samplesPerItem, suiteVersionIds: versions.map((v) => v.id), config };
  const expected = await planCount(db, draft);
  if (expected === 0) throw new ApiError("invalid_request", "the run has no units");
  if (expected > MAX_RUN_UNITS) throw new ApiError("invalid_request", `the run would have ${expected} units; the most is ${MAX_RUN_UNITS}`);
  return {
    id: newId("run"),
    endpointId: endpoint.id,
    endpointRevision: endpoint.revision,
    suiteVersionIds: draft.suiteVersionIds,
    samplesPerItem,
    temperature,
    seed,
    itemLimit: draft.itemLimit,
    scoringMode: endpoint.logprobs ? "logprobs" : "sampled",
    config,
    expectedUnits: expected,
    status: "running",
  };
}

/**
 * A setting the request left out: the default each suite's kind declares (1 for a kind that declares none). The
 * suites must agree, so a persona suite is never silently sampled at another suite's temperature.
 */
function kindDefault(versions: { id: string; kind: string }[], key: "samplesPerItem" | "temperature"): number {
  const declared = versions.map((v) => ({ id: v.id, value: SUITE_KINDS[v.kind].defaults?.[key] ?? 1 }));
  const values = [...new Set(declared.map((d) => d.value))];
  if (values.length > 1) {
    throw new ApiError("invalid_request", `the suites default to different ${key} (${declared.map((d) => `${d.id}: ${d.value}`).join(", ")}); set ${key}`);
  }
  return values[0] ?? 1;
}

/**
 * Stores the run and sends its plan messages; answers at once, the queue does the rest. Suite kinds pin their
 * settings here rather than in prepareRun, so a run launched after another (an experiment's base first) can find it.
 */
export async function launchRun(env: Env, db: Db, prepared: PreparedRun): Promise<string> {
  let config = prepared.config ?? {};
  for (const svId of prepared.suiteVersionIds) {
    const configure = SUITE_KINDS[String(((await getSuiteVersion(db, svId))?.meta as Record<string, unknown> | undefined)?.kind)]?.configure;
    if (configure) config = { ...config, ...(await configure(db, { ...prepared, itemLimit: prepared.itemLimit ?? null }, svId)) };
  }
  const run = { ...prepared, config };
  await db.insert(runs).values(run);
  await sendAll(env.WORK_QUEUE, planMessages(run.id!, run.expectedUnits));
  return run.id!;
}
