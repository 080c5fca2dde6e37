/**
 * @module reports/progress: a run's live progress read from its stored rows: the counts GET /v1/runs/{id} shows,
 * counts per stage, calls per second over the last seconds, an ETA, and failures grouped by reason.
 */
import type { Db } from "../db/client";
import { displayStatus, runProgress, type RunProgress, type RunRow } from "../db/queries/runs";

/** Seconds of stored answers the call rate is measured over (ours: smooths batch bursts, still follows changes). */
export const RATE_WINDOW_SECONDS = 10;
/** Distinct failure reasons listed (ours). */
export const MAX_FAILURE_REASONS = 10;

export interface ProgressSnapshot {
  runId: string;
  status: string;
  /** The same counts as GET /v1/runs/{id}. */
  counts: RunProgress;
  stages: { stage: number; kind: string; pending: number; done: number; failed: number }[];
  /** Answers stored per second over the last RATE_WINDOW_SECONDS. */
  callsPerSecond: number;
  /** Seconds until the units planned so far (and the stage-0 units still to plan) are settled at that rate; null when unknown. */
  etaSeconds: number | null;
  /** Failed units by reason; the error texts only for the admin key (counts for everyone). */
  failures: { reason: string | null; count: number }[];
  completedAt: string | null;
  at: string;
}

export async function progressSnapshot(db: Db, d1: D1Database, run: RunRow, admin: boolean): Promise<ProgressSnapshot> {
  const now = Date.now();
  const since = new Date(now - RATE_WINDOW_SECONDS * 1000).toISOString();
  const [counts, stages, recent, failures] = await Promise.all([
    runProgress(db, run),
    d1
      .prepare("SELECT stage, kind, status, count(*) AS n FROM units WHERE run_id = ?1 GROUP BY stage, kind, status ORDER BY stage, kind")
      .bind(run.id)
      .all<{ stage: number; kind: string; status: string; n: number }>(),
    d1.prepare("SELECT count(*) AS n FROM responses WHERE run_id = ?1 AND created_at >= ?2").bind(run.id, since).first<{ n: number }>(),
    d1
      .prepare("SELECT last_error AS reason, count(*) AS n FROM units WHERE run_id = ?1 AND status = 'failed' GROUP BY last_error ORDER BY n DESC LIMIT ?2")
      .bind(run.id, MAX_FAILURE_REASONS)
      .all<{ reason: string | null; n: number }>(),
  ]);
  const byStage = new Map<string, ProgressSnapshot["stages"][number]>();
  for (const r of stages.results) {
    const key = `${r.stage}\u0000${r.kind}`;
    const s = byStage.get(key) ?? { stage: r.stage, kind: r.kind, pending: 0, done: 0, failed: 0 };
    if (r.status === "pending" || r.status === "done" || r.status === "failed") s[r.status] += r.n;
    byStage.set(key, s);
  }
  const rate = (recent?.n ?? 0) / RATE_WINDOW_SECONDS;
  const remaining = counts.pending + Math.max(0, counts.expectedFirstStage - counts.plannedFirstStage);
  const status = displayStatus(run, counts);
  return {
    runId: run.id,
    status,
    counts,
    stages: [...byStage.values()],
    callsPerSecond: Math.round(rate * 100) / 100,
    etaSeconds: remaining === 0 ? 0 : status === "running" || status === "planning" ? (rate > 0 ? Math.round(remaining / rate) : null) : null,
    failures: failures.results.map((f) => ({ reason: admin ? f.reason : null, count: f.n })),
    completedAt: run.completedAt,
    at: new Date(now).toISOString(),
  };
}
