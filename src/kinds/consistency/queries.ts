/** @module kinds/consistency/queries: the rows the persona-consistency report aggregates (scores and parsed fields; never answer text). */

/** One unit of a consistency run with its item strata and its stored score. */
export interface ConsistencyRow {
  id: string;
  kind: string;
  parentId: string | null;
  itemKey: string;
  sampleIndex: number;
  variant: string;
  status: string;
  /** Section of the battery: harm | self | description. */
  dimension: string;
  keying: string;
  score: number | null;
  parsed: Record<string, unknown> | null;
}

/** Every unit of the run in the given consistency suite version (one query; a full run has a few thousand rows). */
export async function consistencyRows(d1: D1Database, runId: string, suiteVersionId: string): Promise<ConsistencyRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT u.id AS id, u.kind AS kind, u.parent_id AS parentId, u.item_key AS itemKey, u.sample_index AS sampleIndex,
              u.variant AS variant, u.status AS status, si.dimension AS dimension, si.keying AS keying, r.score AS score,
              r.parsed AS parsed
         FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
         LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
        WHERE u.run_id = ?1 AND u.suite_version_id = ?2`,
    )
    .bind(runId, suiteVersionId)
    .all<Omit<ConsistencyRow, "parsed"> & { parsed: string | null }>();
  return results.map((r) => ({ ...r, parsed: r.parsed ? (JSON.parse(r.parsed) as Record<string, unknown>) : null }));
}
