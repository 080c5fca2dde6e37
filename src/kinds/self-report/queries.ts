/** @module kinds/self-report/queries: rows the self-report report and metrics aggregate (scores and ids, never answer text). */

/** One self-report answer with its item's type, question and measure. */
export interface SelfReportRow {
  unitId: string;
  sampleIndex?: number;
  suiteVersionId: string;
  itemKey: string;
  variant: string;
  status: string;
  type: string;
  questionId: string;
  measure: string | null;
  targetLetter: string | null;
  score: number | null;
  method: string | null;
}

export async function selfReportRows(d1: D1Database, runId: string): Promise<SelfReportRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT u.id AS unitId, u.sample_index AS sampleIndex, u.suite_version_id AS suiteVersionId, u.item_key AS itemKey, u.variant AS variant, u.status AS status,
              json_extract(si.payload, '$.type') AS type, json_extract(si.payload, '$.questionId') AS questionId,
              json_extract(si.payload, '$.measure') AS measure, json_extract(si.payload, '$.targetLetter') AS targetLetter,
              r.score AS score, json_extract(r.parsed, '$.method') AS method
         FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
         JOIN suite_versions sv ON sv.id = u.suite_version_id
         LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
        WHERE u.run_id = ?1 AND u.kind = 'ask' AND json_extract(sv.meta, '$.kind') = 'self-report'`,
    )
    .bind(runId)
    .all<SelfReportRow>();
  return results;
}
