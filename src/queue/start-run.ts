/**
 * @module queue/start-run: validates a run request, pins suite versions and the judge, and hands the plan to
 * the queue. Preparing and launching are separate so an experiment can check every run before starting any.
 */
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { currentSuiteVersion } from "../db/queries/suites";
import { type RunConfig, runs } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { SUITE_KINDS } from "../suites/kinds";
import { sendAll } from "./messages";
import { planList, planMessages } from "./planner";

/** Largest run we accept (units = items x samples). Planning is chunked, so this bounds D1 size per run, not memory. */
export const MAX_RUN_UNITS = 100_000;

export interface RunRequest {
  endpointId: string;
  suites: string[];
  samplesPerItem: number;
  temperature: number;
  seed?: number;
  limit?: number;
  judge?: { endpointId: string; rubric: string };
}

export type PreparedRun = typeof runs.$inferInsert;

export async function prepareRun(db: Db, body: RunRequest): Promise<PreparedRun> {
  const endpoint = await getEndpoint(db, body.endpointId).catch(() => {
    throw new ApiError("invalid_request", `endpointId ${body.endpointId} is not a live endpoint`);
  });
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
    if (!body.judge) throw new ApiError("invalid_request", "judged suites (safety) need a judge: { judge: { endpointId } }");
    const judge = await getEndpoint(db, body.judge.endpointId).catch(() => {
      throw new ApiError("invalid_request", `judge.endpointId ${body.judge!.endpointId} is not a live endpoint`);
    });
    config = { judge: { endpointId: judge.id, revision: judge.revision, model: judge.model, rubricVersion: body.judge.rubric } };
  }
  const seed = body.seed ?? crypto.getRandomValues(new Uint32Array(1))[0] % 2 ** 31;
  const draft = { seed, itemLimit: body.limit ?? null, samplesPerItem: body.samplesPerItem, suiteVersionIds: versions.map((v) => v.id), config };
  const expected = (await planList(db, draft)).length;
  if (expected === 0) throw new ApiError("invalid_request", "the run has no units");
  if (expected > MAX_RUN_UNITS) throw new ApiError("invalid_request", `the run would have ${expected} units; the most is ${MAX_RUN_UNITS}`);
  return {
    id: newId("run"),
    endpointId: endpoint.id,
    endpointRevision: endpoint.revision,
    suiteVersionIds: draft.suiteVersionIds,
    samplesPerItem: body.samplesPerItem,
    temperature: body.temperature,
    seed,
    itemLimit: draft.itemLimit,
    scoringMode: endpoint.logprobs ? "logprobs" : "sampled",
    config,
    expectedUnits: expected,
    status: "running",
  };
}

/** Stores the run and sends its plan messages; answers at once, the queue does the rest. */
export async function launchRun(env: Env, db: Db, run: PreparedRun): Promise<string> {
  await db.insert(runs).values(run);
  await sendAll(env.WORK_QUEUE, planMessages(run.id!, run.expectedUnits));
  return run.id!;
}
