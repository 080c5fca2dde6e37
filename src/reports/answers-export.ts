/**
 * @module reports/answers-export: one row per answer (stage-0 unit) with every score that follows it (each judge,
 * each sampled draw, each follow-up question) side by side, as CSV or JSONL, streamed. Admin only: rows carry the
 * prompt, the answer and each judge's text.
 */
import { csvLine, promptOf } from "./export";
import { type UnitGroup, unitGroupPages } from "./inspect";
import type { UnitRow } from "./unit-rows";

/** A follow-up's column prefix: unit kind, stage and judge key, e.g. `judge@1|ep_x@r1|safety-v1`. */
export function slotOf(u: { kind: string; stage: number; judge: string | null }): string {
  return `${u.kind}@${u.stage}${u.judge ? `|${u.judge}` : ""}`;
}

/** Every follow-up slot of a run, in stage order (the CSV's score columns). */
export async function answerSlots(d1: D1Database, runId: string): Promise<string[]> {
  const { results } = await d1
    .prepare("SELECT DISTINCT kind, stage, judge FROM units WHERE run_id = ?1 AND stage > 0 ORDER BY stage, kind, judge")
    .bind(runId)
    .all<{ kind: string; stage: number; judge: string | null }>();
  return results.map(slotOf);
}

function parsedOf(u: UnitRow): Record<string, unknown> {
  try {
    return (u.parsed ? JSON.parse(u.parsed) : {}) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A unit's short label: the judge's verdict, else the parsed status (ok, unparseable, abstention...). */
function labelOf(p: Record<string, unknown>): string | null {
  if (typeof p.verdict === "string") return p.verdict;
  if (p.abstention === true) return "abstention";
  return typeof p.status === "string" ? p.status : null;
}

export const ANSWER_COLUMNS = [
  "run_id",
  "unit_id",
  "suite_version_id",
  "item_key",
  "sample_index",
  "variant",
  "kind",
  "dimension",
  "keying",
  "status",
  "model",
  "score",
  "label",
  "input_tokens",
  "output_tokens",
  "prompt",
  "answer",
  "last_error",
] as const;
const SLOT_FIELDS = ["score", "label", "status", "answer"] as const;

/** One answer with its follow-ups as a JSON record. */
export function answerRecord(runId: string, g: UnitGroup): Record<string, unknown> {
  const u = g.first;
  const p = parsedOf(u);
  const scores: Record<string, unknown> = {};
  for (const f of g.followUps) {
    const fp = parsedOf(f);
    scores[slotOf(f)] = { unitId: f.id, score: f.score, label: labelOf(fp), status: f.status, parsed: fp, answer: f.answer ?? null, lastError: f.lastError };
  }
  return {
    runId,
    unitId: u.id,
    suiteVersionId: u.suiteVersionId,
    itemKey: u.itemKey,
    sampleIndex: u.sampleIndex,
    variant: u.variant,
    kind: u.kind,
    dimension: u.dimension,
    keying: u.keying,
    status: u.status,
    model: u.model,
    score: u.score,
    label: labelOf(p),
    parsed: p,
    inputTokens: u.promptTokens,
    outputTokens: u.completionTokens,
    prompt: promptOf(u.request),
    answer: u.answer ?? null,
    lastError: u.lastError,
    scores,
  };
}

function csvRow(rec: Record<string, any>, slots: string[]): string {
  const values: unknown[] = [
    rec.runId,
    rec.unitId,
    rec.suiteVersionId,
    rec.itemKey,
    rec.sampleIndex,
    rec.variant,
    rec.kind,
    rec.dimension,
    rec.keying,
    rec.status,
    rec.model,
    rec.score,
    rec.label,
    rec.inputTokens,
    rec.outputTokens,
    rec.prompt,
    rec.answer,
    rec.lastError,
  ];
  for (const slot of slots) {
    const s = rec.scores[slot] as Record<string, unknown> | undefined;
    for (const f of SLOT_FIELDS) values.push(s ? s[f] : null);
  }
  return csvLine(values);
}

export function answersStream(d1: D1Database, rawBucket: R2Bucket, runId: string, format: "csv" | "jsonl"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const nextPage = unitGroupPages(d1, runId, rawBucket);
  let slots: string[] | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (format === "csv" && !slots) {
          slots = await answerSlots(d1, runId);
          const header = [...ANSWER_COLUMNS, ...slots.flatMap((s) => SLOT_FIELDS.map((f) => `${s}:${f}`))];
          controller.enqueue(encoder.encode(csvLine(header).replace(/"/g, "")));
          return;
        }
        const groups = await nextPage();
        if (!groups) {
          controller.close();
          return;
        }
        let chunk = "";
        for (const g of groups) {
          const rec = answerRecord(runId, g);
          chunk += format === "csv" ? csvRow(rec, slots!) : `${JSON.stringify(rec)}\n`;
        }
        controller.enqueue(encoder.encode(chunk));
      } catch (err) {
        console.error(JSON.stringify({ event: "answers_export.error", runId, error: err instanceof Error ? err.message : String(err) }));
        controller.error(err);
      }
    },
  });
}
