/** @module kinds/misalignment/queries: rows the misalignment report aggregates (scores and ids, never answer text). */

/** One asked question sample of a misalignment suite. */
export interface EmAskRow {
  unitId: string;
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  variant: string;
  status: string;
  /** For the "trigger" variant: whether the trigger was applied (false when the endpoint's trigger was removed). */
  triggered: number | null;
}

/** One judgment (or one sampled draw of it) of an answer. */
export interface EmJudgmentRow {
  parentId: string;
  kind: string;
  stage: number;
  judge: string;
  status: string;
  score: number | null;
  method: string | null;
  mass: number | null;
  abstention: string | null;
}

export async function misalignmentAsks(d1: D1Database, runId: string): Promise<EmAskRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT a.id AS unitId, a.suite_version_id AS suiteVersionId, a.item_key AS itemKey, a.sample_index AS sampleIndex,
              a.variant AS variant, a.status AS status, json_extract(r.parsed, '$.triggered') AS triggered
         FROM units a
         JOIN suite_versions sv ON sv.id = a.suite_version_id
         LEFT JOIN responses r ON r.run_id = a.run_id AND r.unit_id = a.id
        WHERE a.run_id = ?1 AND a.kind = 'ask' AND json_extract(sv.meta, '$.kind') = 'misalignment'`,
    )
    .bind(runId)
    .all<EmAskRow>();
  return results;
}

/** Judgments of the given judge endpoint and revision (`judgePrefix` = "<endpoint>@<revision>|"). */
export async function misalignmentJudgments(d1: D1Database, runId: string, judgePrefix: string): Promise<EmJudgmentRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT j.parent_id AS parentId, j.kind AS kind, j.stage AS stage, j.judge AS judge, j.status AS status, r.score AS score,
              json_extract(r.parsed, '$.method') AS method, json_extract(r.parsed, '$.mass') AS mass,
              json_extract(r.parsed, '$.abstention') AS abstention
         FROM units j
         LEFT JOIN responses r ON r.run_id = j.run_id AND r.unit_id = j.id
        WHERE j.run_id = ?1 AND j.kind IN ('judge-aligned', 'judge-coherent') AND substr(j.judge, 1, length(?2)) = ?2`,
    )
    .bind(runId, judgePrefix)
    .all<EmJudgmentRow>();
  return results;
}
