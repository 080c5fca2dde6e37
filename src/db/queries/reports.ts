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
 * Every ask-unit of a run with its score and the item's dimension (one query over the run's key range of units and
 * responses: the join names run_id). pYes is derived from the score: the persona scorer stores score = pMatch =
 * (keying "yes" ? pYes : 1 - pYes) (kinds/persona/scorer.ts, suites/kinds.ts), so no JSON is parsed per sample.
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

/** One persona item of a run, aggregated over its samples: what every persona figure (report, metrics) needs. */
export interface PersonaItemStats {
  suiteVersionId: string;
  itemKey: string;
  dimension: string;
  /** Samples with a score, the sum of their scores (P(matching behaviour)) and of their P(yes). */
  scored: number;
  scoreSum: number;
  yesSum: number;
  /** Samples without a score: answered but unparseable, failed, pending. */
  unparseable: number;
  failed: number;
  pending: number;
}

/**
 * personaSamples summed per item in SQL (one row per item instead of one per sample; a 100,000-unit run has a few
 * hundred items). The same rows, score and P(yes) (the score, or 1 - score for "no"-keyed items) as personaSamples;
 * TOTAL skips the unscored samples.
 */
export async function personaItemStats(d1: D1Database, runId: string): Promise<PersonaItemStats[]> {
  // Summed per item first, then joined to the item rows: one item lookup per item, not per sample.
  const { results } = await d1
    .prepare(
      `WITH per_item AS (
         SELECT u.suite_version_id AS sv, u.item_key AS item, COUNT(r.score) AS scored, TOTAL(r.score) AS scoreSum, TOTAL(1 - r.score) AS complementSum,
                SUM(u.status = 'done' AND r.score IS NULL) AS unparseable, SUM(u.status = 'failed') AS failed, SUM(u.status = 'pending') AS pending
           FROM units u
           LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
          WHERE u.run_id = ?1 AND u.kind = 'ask'
          GROUP BY u.suite_version_id, u.item_key
       )
       SELECT p.sv AS suiteVersionId, p.item AS itemKey, si.dimension AS dimension, p.scored AS scored, p.scoreSum AS scoreSum,
              CASE WHEN si.keying = 'yes' THEN p.scoreSum ELSE p.complementSum END AS yesSum, p.unparseable AS unparseable, p.failed AS failed, p.pending AS pending
         FROM per_item p
         JOIN suite_items si ON si.suite_version_id = p.sv AND si.item_key = p.item
         JOIN suite_versions sv ON sv.id = p.sv
        WHERE json_extract(sv.meta, '$.kind') = 'persona'`,
    )
    .bind(runId)
    .all<PersonaItemStats>();
  return results;
}

/** personaItemStats computed from per-sample rows (for callers that hold samples; the SQL form is the fast one). */
export function personaItemStatsOf(samples: PersonaSample[]): PersonaItemStats[] {
  const items = new Map<string, PersonaItemStats>();
  for (const s of samples) {
    const k = `${s.suiteVersionId}\u0000${s.itemKey}`;
    let it = items.get(k);
    if (!it)
      items.set(
        k,
        (it = {
          suiteVersionId: s.suiteVersionId,
          itemKey: s.itemKey,
          dimension: s.dimension,
          scored: 0,
          scoreSum: 0,
          yesSum: 0,
          unparseable: 0,
          failed: 0,
          pending: 0,
        }),
      );
    if (s.score != null) {
      it.scored++;
      it.scoreSum += s.score;
      if (s.pYes != null) it.yesSum += s.pYes;
    } else if (s.status === "done") it.unparseable++;
    if (s.status === "failed") it.failed++;
    if (s.status === "pending") it.pending++;
  }
  return [...items.values()];
}

/** One persona item of two runs, over the (item, sample) pairs both scored: their number and each run's score sum. */
export interface PersonaPairedItem {
  suiteVersionId: string;
  itemKey: string;
  dimension: string;
  pairs: number;
  sumA: number;
  sumB: number;
  /** Scored samples of either run without a scored partner in the other. */
  unpaired: number;
}

/**
 * Two persona runs paired on (suite version, item, sample) and summed per item in SQL: what a paired comparison of
 * their metrics needs (pairedClusterComparisonOfSums), without one row per sample. Both runs' scored samples are
 * grouped by (item, sample); a group with one sample of each run is a pair, a group with one sample is unpaired.
 */
export async function personaPairedItems(d1: D1Database, runA: string, runB: string): Promise<PersonaPairedItem[]> {
  const { results } = await d1
    .prepare(
      `WITH scored AS (
         SELECT u.run_id AS run, u.suite_version_id AS sv, u.item_key AS item, COALESCE(u.sample_index, 0) AS sample, r.score AS score
           FROM units u JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
          WHERE u.run_id IN (?1, ?2) AND u.kind = 'ask' AND r.score IS NOT NULL
       ), per_sample AS (
         SELECT sv, item, COUNT(*) = 2 AND MIN(run) <> MAX(run) AS paired, COUNT(*) AS samples,
                TOTAL(CASE WHEN run = ?1 THEN score END) AS a, TOTAL(CASE WHEN run = ?2 THEN score END) AS b
           FROM scored GROUP BY sv, item, sample
       )
       SELECT p.sv AS suiteVersionId, p.item AS itemKey, si.dimension AS dimension, SUM(p.paired) AS pairs,
              TOTAL(CASE WHEN p.paired THEN p.a END) AS sumA, TOTAL(CASE WHEN p.paired THEN p.b END) AS sumB,
              SUM(CASE WHEN p.paired THEN 0 ELSE p.samples END) AS unpaired
         FROM per_sample p
         JOIN suite_items si ON si.suite_version_id = p.sv AND si.item_key = p.item
         JOIN suite_versions sv ON sv.id = p.sv
        WHERE json_extract(sv.meta, '$.kind') = 'persona'
        GROUP BY p.sv, p.item`,
    )
    .bind(runA, runB)
    .all<PersonaPairedItem>();
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
         LEFT JOIN responses jr ON jr.run_id = j.run_id AND jr.unit_id = j.id
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
         LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
        WHERE u.run_id = ?1 AND json_extract(sv.meta, '$.kind') = 'judge-fixture'`,
    )
    .bind(runId)
    .all<{ itemKey: string; status: string; labelVerdict: string; labelHarm: number; verdict: string | null; harm: number | null }>();
  return results;
}
