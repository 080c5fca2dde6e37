/**
 * @module reports/run-view: a run as the API shows it (GET /v1/runs/{id}, the run routes' answers) and as the Inspect
 * log's run metadata carries it: its pinned settings, status and progress counts.
 */
import type { Db } from "../db/client";
import { displayStatus, runProgress, type RunRow } from "../db/queries/runs";

export async function runView(db: Db, run: RunRow) {
  const counts = await runProgress(db, run);
  return {
    id: run.id,
    endpointId: run.endpointId,
    endpointRevision: run.endpointRevision,
    suiteVersionIds: run.suiteVersionIds,
    samplesPerItem: run.samplesPerItem,
    temperature: run.temperature,
    seed: run.seed,
    limit: run.itemLimit,
    scoringMode: run.scoringMode,
    judge: run.config.judge ?? null,
    variants: run.config.variants?.length ? run.config.variants : [""],
    judgeScoring: run.config.judgeScoring ?? null,
    status: displayStatus(run, counts),
    imported: run.imported,
    rubrics: Object.values(run.config.rubrics ?? {}).map((r) => ({ id: r.id, promptHash: r.promptHash })),
    counts,
    createdAt: run.createdAt,
    completedAt: run.completedAt,
  };
}
