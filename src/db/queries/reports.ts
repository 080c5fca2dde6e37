/** @module db/queries/reports: the rows reports aggregate (scores only; never answer text). */
/** One scored (or unparseable) sample of a persona item. */
export interface PersonaSample {
  suiteVersionId: string;
  itemKey: string;
  sampleIndex?: number;
  dimension: string;
  status: string;
  /** P(matching behaviour); null when the answer could not be parsed. */
  score: number | null;
  pYes: number | null;
}

/**
 * Every ask-unit of a run with its score and the item's dimension (one query). The score comes from the covering
 * index `responses_run_scores` (the join names run_id so it is used), never from the wide response row, and pYes is
 * derived from it: the persona scorer stores score = pMatch = (keying "yes" ? pYes : 1 - pYes) (kinds/persona/scorer.ts,
 * suites/kinds.ts), so reading `parsed` for it would cost a ~4 KB row read per sample for no new information.
 */
export async function personaSamples(d1: D1Database, runId: string): Promise<PersonaSample[]> {
  const { results } = await d1
    .prepare(
      `SELECT u.suite_version_id AS suiteVersionId, u.item_key AS itemKey, u.sample_index AS sampleIndex, si.dimension AS dimension, u.status AS status,
               r.score AS score, CASE WHEN r.score IS NULL THEN NULL WHEN si.keying = 'yes' THEN r.score ELSE 1 - r.score END AS pYes
         FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
         JOIN suite_versions sv ON sv.id = u.suite_version_id
         LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
        WHERE u.run_id = ?1 AND u.kind = 'ask' AND json_extract(sv.meta, '$.kind') = 'persona'`,
    )
    .bind(runId)
    .all<PersonaSample>();
  return results;
}

/** One answered (or not) safety prompt sample with the judgment of the given judge, if any. */
export interface SafetySample {
  /** The suite version the prompt belongs to (leaderboards compare one version at a time). */
  suiteVersionId?: string;
  itemKey: string;
  sampleIndex: number;
  category: string;
  subcategory: string;
  heldOut: number | null;
  borderline: number | null;
  excluded: number | null;
  askStatus: string;
  judgeStatus: string | null;
  verdict: string | null;
  harm: number | null;
  /** Yes/no classifier rubrics: the classifier's label and whether it counts as safe (no verdict or harm then). */
  label?: string | null;
  safe?: number | null;
}

/** Every ask-unit of a safety run joined with its judgment by `judgeKey` ("<endpoint>@<revision>|<rubric>"). */
export async function safetySamples(d1: D1Database, runId: string, judgeKey: string): Promise<SafetySample[]> {
  const { results } = await d1
    .prepare(
      `SELECT a.suite_version_id AS suiteVersionId, a.item_key AS itemKey, a.sample_index AS sampleIndex, si.dimension AS category, si.keying AS subcategory,
              json_extract(si.payload, '$.heldOut') AS heldOut, json_extract(si.payload, '$.borderline') AS borderline,
              json_extract(si.payload, '$.excluded') AS excluded, a.status AS askStatus, j.status AS judgeStatus,
              json_extract(jr.parsed, '$.verdict') AS verdict, json_extract(jr.parsed, '$.harm') AS harm,
              json_extract(jr.parsed, '$.label') AS label, json_extract(jr.parsed, '$.safe') AS safe
         FROM units a
         JOIN suite_items si ON si.suite_version_id = a.suite_version_id AND si.item_key = a.item_key
         JOIN suite_versions sv ON sv.id = a.suite_version_id
         LEFT JOIN units j ON j.parent_id = a.id AND j.kind = 'judge' AND j.judge = ?2
         LEFT JOIN responses jr ON jr.unit_id = j.id
        WHERE a.run_id = ?1 AND a.kind = 'ask' AND json_extract(sv.meta, '$.kind') = 'safety'`,
    )
    .bind(runId, judgeKey)
    .all<SafetySample>();
  return results;
}

/** A judge-fixture run: each item's labels beside the judge's parsed verdict. */
export async function fixtureJudgments(d1: D1Database, runId: string) {
  const { results } = await d1
    .prepare(
      `SELECT u.item_key AS itemKey, u.status AS status, json_extract(si.payload, '$.verdict') AS labelVerdict,
              json_extract(si.payload, '$.harm') AS labelHarm, json_extract(r.parsed, '$.verdict') AS verdict,
              json_extract(r.parsed, '$.harm') AS harm
         FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
         JOIN suite_versions sv ON sv.id = u.suite_version_id
         LEFT JOIN responses r ON r.unit_id = u.id
        WHERE u.run_id = ?1 AND json_extract(sv.meta, '$.kind') = 'judge-fixture'`,
    )
    .bind(runId)
    .all<{ itemKey: string; status: string; labelVerdict: string; labelHarm: number; verdict: string | null; harm: number | null }>();
  return results;
}
