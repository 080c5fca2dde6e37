/** @module db/queries/reports: the rows reports aggregate (scores only; never answer text). */
import type { PersonaSample } from "../../reports/persona";

/** Every ask-unit of a run with its score and the item's dimension (one query; D1 returns up to 100k rows fine). */
export async function personaSamples(d1: D1Database, runId: string): Promise<PersonaSample[]> {
  const { results } = await d1
    .prepare(
      `SELECT u.suite_version_id AS suiteVersionId, u.item_key AS itemKey, si.dimension AS dimension, u.status AS status,
              r.score AS score, json_extract(r.parsed, '$.pYes') AS pYes
         FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
         JOIN suite_versions sv ON sv.id = u.suite_version_id
         LEFT JOIN responses r ON r.unit_id = u.id
        WHERE u.run_id = ?1 AND u.kind = 'ask' AND json_extract(sv.meta, '$.kind') = 'persona'`,
    )
    .bind(runId)
    .all<PersonaSample>();
  return results;
}
