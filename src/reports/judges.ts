/**
 * @module reports/judges: which judge and rubric a safety report uses, and how two judges of the same stored answers
 * compare. A run's judgments are keyed by `<judge endpoint>@<revision>|<rubric>`; the report names the judge it uses
 * (default: the one pinned when the run started; `?judge=` picks another) and `?compareJudge=` adds a paired comparison.
 */
import type { Db } from "../db/client";
import { getEndpointsByIds } from "../db/queries/endpoints";
import type { SafetySample } from "../db/queries/reports";
import { RunReads } from "../db/queries/run-reads";
import type { RunRow } from "../db/queries/runs";
import { ApiError } from "../lib/errors";
import { mcnemarExact } from "../stats/tests";
import { cohensKappa } from "../stats/tests";
import { kappaEstimate } from "../stats/inference";
import { PrivacyView } from "./privacy";
import { outcome } from "../kinds/safety/classify";
import { byPrompt, rate, summarizeSafety } from "../kinds/safety/report";
import { formatJudgeKey, parseJudgeKey } from "../judges/judge-key";

export interface JudgeDescriptor {
  key: string;
  endpointId: string;
  revision: string;
  rubricVersion: string;
  model: string | null;
  /** Pinned when the run started (the default), or added later by re-judging. */
  origin: "pinned" | "rejudge";
  judgments: number;
  done: number;
}

const keyOf = formatJudgeKey;

/** Every judge that graded (or is grading) this run's answers. */
export async function runJudges(db: Db, d1: D1Database, run: RunRow): Promise<JudgeDescriptor[]> {
  const { results } = await d1
    .prepare(
      `SELECT judge, count(*) AS n, sum(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done FROM units WHERE run_id = ?1 AND kind = 'judge' AND judge IS NOT NULL GROUP BY judge`,
    )
    .bind(run.id)
    .all<{ judge: string; n: number; done: number }>();
  const declared = [run.config.judge, ...(run.config.judges ?? [])].filter((j): j is NonNullable<typeof j> => !!j);
  const keys = [...new Set([...declared.map(keyOf), ...results.map((r) => r.judge)])];
  const parsed = new Map(keys.map((k) => [k, parseJudgeKey(k) ?? { endpointId: k, revision: "", rubricVersion: "" }]));
  const eps = await getEndpointsByIds(
    db,
    [...parsed.values()].map((p) => p.endpointId),
  );
  return keys.map((key) => {
    const p = parsed.get(key)!;
    const d = declared.find((j) => keyOf(j) === key);
    const row = results.find((r) => r.judge === key);
    return {
      key,
      endpointId: p.endpointId,
      revision: p.revision,
      rubricVersion: p.rubricVersion,
      model: d?.model ?? eps.get(p.endpointId)?.model ?? null,
      origin: run.config.judge && keyOf(run.config.judge) === key ? "pinned" : "rejudge",
      judgments: row?.n ?? 0,
      done: row?.done ?? 0,
    };
  });
}

/** A judge by full key, or by endpoint id (its newest key in this run). */
function pick(judges: JudgeDescriptor[], wanted: string, run: RunRow, view: PrivacyView): JudgeDescriptor {
  const exact = judges.find((j) => j.key === wanted);
  const byEndpoint = judges.filter((j) => j.endpointId === wanted);
  const found = exact ?? byEndpoint[byEndpoint.length - 1];
  if (!found)
    throw new ApiError(
      "invalid_request",
      `run ${run.id} has no judgments by ${wanted}; its judges are ${judges.map((j) => view.judgeKey(j.key)).join(", ") || "none"}`,
    );
  return found;
}

const sampleKey = (s: SafetySample) => `${s.suiteVersionId ?? ""}\u0000${s.itemKey}\u0000${s.sampleIndex}`;

/** Two judges on the same answers: safe/unsafe agreement, kappa on verdicts, McNemar on discordant safe calls. */
export function compareJudgments(a: SafetySample[], b: SafetySample[]) {
  const bByKey = new Map(b.map((s) => [sampleKey(s), s]));
  const pairs: { a: SafetySample; b: SafetySample }[] = [];
  for (const s of a) {
    const t = bByKey.get(sampleKey(s));
    if (t && outcome(s) != null && outcome(t) != null) pairs.push({ a: s, b: t });
  }
  const safeA = pairs.map((p) => outcome(p.a)!);
  const safeB = pairs.map((p) => outcome(p.b)!);
  const bCount = pairs.filter((_, i) => safeA[i] && !safeB[i]).length;
  const cCount = pairs.filter((_, i) => !safeA[i] && safeB[i]).length;
  const verdictA = pairs.map((p) => p.a.verdict ?? p.a.label ?? "?");
  const verdictB = pairs.map((p) => p.b.verdict ?? p.b.label ?? "?");
  const safeLabelsA = safeA.map((x) => (x ? "safe" : "unsafe"));
  const safeLabelsB = safeB.map((x) => (x ? "safe" : "unsafe"));
  const verdicts = cohensKappa(verdictA, verdictB);
  const safe = cohensKappa(safeLabelsA, safeLabelsB);
  // Samples of one prompt are not independent: the kappa interval resamples prompts (kappaEstimate with clusters).
  const prompts = pairs.map((p) => `${p.a.suiteVersionId ?? ""}\u0000${p.a.itemKey}`);
  return {
    pairs: pairs.length,
    safeRate: {
      a: rate(byPrompt(pairs.map((p) => p.a))),
      b: rate(byPrompt(pairs.map((p) => p.b))),
    },
    verdictAgreement: { agreement: verdicts.agreement, kappa: verdicts.kappa, kappaInterval: kappaEstimate(verdictA, verdictB, { clusters: prompts }) },
    safeAgreement: { agreement: safe.agreement, kappa: safe.kappa, kappaInterval: kappaEstimate(safeLabelsA, safeLabelsB, { clusters: prompts }) },
    mcnemar: { ...mcnemarExact(bCount, cCount), note: "b = safe by A only, c = safe by B only; exact two-sided test on the paired samples" },
  };
}

/** The report's safety section under the chosen judge, the run's judges, and an optional comparison with another. */
export async function judgedSafety(db: Db, d1: D1Database, run: RunRow, opts: { judge?: string; compareJudge?: string; view?: PrivacyView; reads?: RunReads }) {
  const reads = opts.reads ?? new RunReads(d1);
  const view = opts.view ?? PrivacyView.all();
  const describe = (j: JudgeDescriptor) => describeFor(view, j);
  const judges = await runJudges(db, d1, run);
  const pinned = run.config.judge ? keyOf(run.config.judge) : null;
  const chosen = opts.judge ? pick(judges, opts.judge, run, view) : judges.find((j) => j.key === pinned);
  if (!chosen) return {};
  const samples = await reads.safetySamples(run.id, chosen.key);
  const safety = { judge: { ...describe(chosen) }, ...summarizeSafety(samples) };
  if (!opts.compareJudge) return { safety, judges: judges.map(describe) };
  const other = pick(judges, opts.compareJudge, run, view);
  const otherSamples = await reads.safetySamples(run.id, other.key);
  return {
    safety,
    judges: judges.map(describe),
    judgeComparison: { a: describe(chosen), b: describe(other), ...compareJudgments(samples, otherSamples), other: summarizeSafety(otherSamples) },
  };
}

/** A judge as the caller may see it: a private judge keeps its rubric and counts, not its identity. */
function describeFor(view: PrivacyView, j: JudgeDescriptor) {
  if (view.hides(j.endpointId))
    return {
      key: view.judgeKey(j.key) ?? j.key,
      endpointId: null,
      revision: null,
      model: null,
      private: true as const,
      rubricVersion: j.rubricVersion,
      origin: j.origin,
      judgments: j.judgments,
      done: j.done,
    };
  return {
    key: j.key,
    endpointId: j.endpointId,
    revision: j.revision,
    model: j.model,
    rubricVersion: j.rubricVersion,
    origin: j.origin,
    judgments: j.judgments,
    done: j.done,
  };
}
