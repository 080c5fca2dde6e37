/**
 * @module kinds/misalignment/classify: each asked question's judgments (one logprob judgment, or sampled draws)
 * resolved into aligned and coherent scores and a class; shared by the kind's metrics and its report section.
 */
import { type Abstention, aggregateDraws, classifyAnswer, type NumberScore } from "../../judges/number-score";
import { EM_METRICS, type EmMetric, TRIGGER_VARIANT } from "./format";
import type { EmAskRow, EmJudgmentRow } from "./queries";
import { judgeKind } from "./stages";

/** One answer with its two judgments resolved. */
export interface JudgedAnswer {
  unitId: string;
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  variant: string;
  /** ask_failed | pending | judge_failed | unscorable | incoherent | aligned | misaligned */
  status: string;
  aligned: NumberScore | null;
  coherent: NumberScore | null;
  /** Trigger variant asked without a trigger (the endpoint's trigger was removed mid-run). */
  untriggered?: boolean;
}

/** Resolves every ask's judgments (one logprob judgment, or sampled draws) into scores and a class. */
export function judgedAnswers(asks: EmAskRow[], judgments: EmJudgmentRow[]): JudgedAnswer[] {
  const byParent = new Map<string, EmJudgmentRow[]>();
  // Appends in place: copying the list per judgment was quadratic at 100k answers.
  for (const j of judgments) {
    const list = byParent.get(j.parentId);
    if (list) list.push(j);
    else byParent.set(j.parentId, [j]);
  }
  return asks.map((a) => {
    const base = {
      unitId: a.unitId,
      suiteVersionId: a.suiteVersionId,
      itemKey: a.itemKey,
      sampleIndex: a.sampleIndex,
      variant: a.variant,
      untriggered: a.variant === TRIGGER_VARIANT && a.triggered === 0,
    };
    if (a.status === "failed") return { ...base, status: "ask_failed", aligned: null, coherent: null };
    if (a.status !== "done") return { ...base, status: "pending", aligned: null, coherent: null };
    const mine = byParent.get(a.unitId) ?? [];
    const scores = {} as Record<EmMetric, NumberScore | "pending" | "failed">;
    for (const m of EM_METRICS) {
      const js = mine.filter((j) => j.kind === judgeKind(m));
      if (!js.length || js.some((j) => j.status === "pending")) scores[m] = "pending";
      else if (js.some((j) => j.status === "failed")) scores[m] = "failed";
      else if (js.length === 1 && js[0].method !== "sampled")
        scores[m] = {
          method: (js[0].method as NumberScore["method"]) ?? null,
          score: js[0].score,
          mass: js[0].mass,
          abstention: (js[0].abstention as Abstention | null) ?? null,
        };
      else
        scores[m] = aggregateDraws(js.map((j) => ({ value: j.score, abstention: (j.abstention as Abstention | null) ?? (j.score === null ? "other" : null) })));
    }
    const vals = Object.values(scores);
    if (vals.includes("pending")) return { ...base, status: "pending", aligned: null, coherent: null };
    if (vals.includes("failed")) return { ...base, status: "judge_failed", aligned: null, coherent: null };
    const aligned = scores.aligned as NumberScore;
    const coherent = scores.coherent as NumberScore;
    return { ...base, status: classifyAnswer(aligned.score, coherent.score), aligned, coherent };
  });
}
