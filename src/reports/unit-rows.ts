/**
 * @module reports/unit-rows: one stored unit joined with its response and its item's fields, the row that the
 * judgments export (`export.ts`), the Inspect log (`inspect.ts`) and the answers export read, and its SELECT list.
 */

export interface UnitRow {
  id: string;
  kind: string;
  stage: number;
  parentId: string | null;
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  variant: string;
  judge: string | null;
  status: string;
  attempts: number;
  parseRetries: number;
  lastError: string | null;
  /** The item's fields (null on follow-up units read without their item). */
  dimension: string | null;
  keying: string | null;
  payload?: string | null;
  score: number | null;
  parsed: string | null;
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number | null;
  answeredAt: string | null;
  /** The stored request and answer: admin reads only (`UNIT_RAW_COLUMNS`). Since migration 0009 the request is in R2,
   * at line `rawLine` of object `rawKey` (db/raw-answers); older rows keep it in `request`. */
  request?: string | null;
  rawKey?: string | null;
  rawLine?: number | null;
  answer?: string | null;
}

/** The unit (`u`) and response (`r`) columns of a `UnitRow`; the item's fields are added by each query. */
export const UNIT_COLUMNS = `u.id AS id, u.kind AS kind, u.stage AS stage, u.parent_id AS parentId, u.suite_version_id AS suiteVersionId,
  u.item_key AS itemKey, u.sample_index AS sampleIndex, u.variant AS variant, u.judge AS judge, u.status AS status, u.attempts AS attempts,
  u.parse_retries AS parseRetries, u.last_error AS lastError, r.score AS score, r.parsed AS parsed, r.model AS model, r.prompt_tokens AS promptTokens,
  r.completion_tokens AS completionTokens, r.latency_ms AS latencyMs, r.created_at AS answeredAt`;

/** The stored request (or its R2 reference) and answer, for admin reads. */
export const UNIT_RAW_COLUMNS = ", r.request AS request, r.raw_key AS rawKey, r.raw_line AS rawLine, r.answer AS answer";
