/**
 * @module reports/export: the raw judgments of a run as CSV or JSONL, streamed page by page from D1. Anonymous
 * exports carry identities, statuses and scores only; prompts, answers and error texts need the admin key.
 * CSV cells that a spreadsheet would read as a formula are neutralised.
 */
import { fillRequests, rawReader } from "../db/raw-answers";
import type { PrivacyView } from "./privacy";
import { UNIT_COLUMNS, UNIT_RAW_COLUMNS, type UnitRow } from "./unit-rows";

/** Unit rows per D1 query (ours): a 100,000-unit run with judges (200,000 rows) takes 400 queries. */
export const EXPORT_PAGE_ROWS = 500;

/**
 * Leading characters that make a spreadsheet evaluate a cell (OWASP "CSV Injection": = + - @ tab CR), plus their
 * full-width forms, which some spreadsheet applications also accept (ours, to be safe).
 */
const FORMULA_START = /^[\s\u0000-\u001f]*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** Prefixes a single quote to text a spreadsheet would run as a formula (OWASP's advice); other text is unchanged. */
export function neutraliseFormula(s: string): string {
  return FORMULA_START.test(s) ? `'${s}` : s;
}

/** One CSV field (RFC 4180): numbers as written, text neutralised and always quoted, null/undefined empty. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  if (typeof v === "boolean") return v ? "true" : "false";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return `"${neutraliseFormula(s).replace(/"/g, '""')}"`;
}

export function csvLine(values: unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}

/** String fields of `parsed` that anonymous exports keep: short labels, never free text (ours). */
const PUBLIC_PARSED_STRINGS = new Set(["method", "sampled", "verdict", "status", "rubricVersion", "finishReason"]);
const MAX_PUBLIC_LABEL = 40;

/** `parsed` as anonymous callers see it: numbers, booleans, nulls and known short labels. */
export function publicParsed(parsed: unknown): Record<string, unknown> {
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v === null || typeof v === "number" || typeof v === "boolean") out[k] = v;
    else if (typeof v === "string" && PUBLIC_PARSED_STRINGS.has(k)) out[k] = v.slice(0, MAX_PUBLIC_LABEL);
  }
  return out;
}

/** The last user message of a stored request: the prompt the model (or the judge) answered. */
export function promptOf(request: string | null | undefined): string | null {
  if (!request) return null;
  try {
    const messages = (JSON.parse(request) as { messages?: { role: string; content: unknown }[] }).messages ?? [];
    const user = [...messages].reverse().find((m) => m.role === "user");
    return user ? (typeof user.content === "string" ? user.content : JSON.stringify(user.content)) : null;
  } catch {
    return null;
  }
}

/** One export record (JSONL line); `admin` adds the prompt, the answer and the last error. */
export function exportRecord(runId: string, r: UnitRow, admin: boolean): Record<string, unknown> {
  let parsed: unknown = null;
  try {
    parsed = r.parsed ? JSON.parse(r.parsed) : null;
  } catch {
    parsed = null;
  }
  const rec: Record<string, unknown> = {
    runId,
    unitId: r.id,
    kind: r.kind,
    stage: r.stage,
    parentId: r.parentId,
    suiteVersionId: r.suiteVersionId,
    itemKey: r.itemKey,
    sampleIndex: r.sampleIndex,
    variant: r.variant,
    judge: r.judge,
    dimension: r.dimension,
    keying: r.keying,
    status: r.status,
    attempts: r.attempts,
    parseRetries: r.parseRetries,
    score: r.score,
    parsed: admin ? parsed : publicParsed(parsed),
    latencyMs: r.latencyMs,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    model: r.model,
    answeredAt: r.answeredAt,
  };
  if (admin) {
    rec.prompt = promptOf(r.request);
    rec.answer = r.answer ?? null;
    rec.lastError = r.lastError;
  }
  return rec;
}

export const CSV_COLUMNS = [
  "run_id",
  "unit_id",
  "kind",
  "stage",
  "parent_id",
  "suite_version_id",
  "item_key",
  "sample_index",
  "variant",
  "judge",
  "dimension",
  "keying",
  "status",
  "attempts",
  "parse_retries",
  "score",
  "method",
  "p_yes",
  "p_match",
  "mass",
  "sampled",
  "verdict",
  "harm",
  "latency_ms",
  "prompt_tokens",
  "completion_tokens",
  "model",
  "answered_at",
  "parsed",
] as const;
export const CSV_ADMIN_COLUMNS = ["prompt", "answer", "last_error"] as const;

export function csvHeader(admin: boolean): string {
  return csvLine(admin ? [...CSV_COLUMNS, ...CSV_ADMIN_COLUMNS] : [...CSV_COLUMNS]).replace(/"/g, "");
}

/** A record as a CSV line in CSV_COLUMNS order (then the admin columns). */
export function csvRecord(rec: Record<string, unknown>, admin: boolean): string {
  const p = (rec.parsed ?? {}) as Record<string, unknown>;
  const values = [
    rec.runId,
    rec.unitId,
    rec.kind,
    rec.stage,
    rec.parentId,
    rec.suiteVersionId,
    rec.itemKey,
    rec.sampleIndex,
    rec.variant,
    rec.judge,
    rec.dimension,
    rec.keying,
    rec.status,
    rec.attempts,
    rec.parseRetries,
    rec.score,
    p.method,
    p.pYes,
    p.pMatch,
    p.mass,
    p.sampled,
    p.verdict,
    p.harm,
    rec.latencyMs,
    rec.promptTokens,
    rec.completionTokens,
    rec.model,
    rec.answeredAt,
    rec.parsed == null ? null : JSON.stringify(rec.parsed),
  ];
  if (admin) values.push(rec.prompt, rec.answer, rec.lastError);
  return csvLine(values);
}

/**
 * Streams a run's units and responses in storage order: unit-id order, the key of `units` (run_id, id), so each page
 * is the next stretch of one key range and reads only its own rows.
 */
export function judgmentsStream(
  d1: D1Database,
  rawBucket: R2Bucket,
  runId: string,
  format: "csv" | "jsonl",
  admin: boolean,
  view?: PrivacyView,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = "";
  let finished = false;
  let headerSent = false;
  // Admins get the prompt, from the stored request: in R2 (raw_key, raw_line), or in D1 for rows before migration 0009.
  const reader = admin ? rawReader(rawBucket) : null;
  const sql = `SELECT ${UNIT_COLUMNS}, si.dimension AS dimension, si.keying AS keying${admin ? UNIT_RAW_COLUMNS : ""}
                 FROM units AS u
                 LEFT JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
                 LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
                WHERE u.run_id = ?1 AND u.id > ?2
                ORDER BY u.id
                LIMIT ?3`;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!headerSent) {
          headerSent = true;
          if (format === "csv") {
            controller.enqueue(encoder.encode(csvHeader(admin)));
            return;
          }
        }
        if (finished) {
          controller.close();
          return;
        }
        const { results } = await d1.prepare(sql).bind(runId, after, EXPORT_PAGE_ROWS).all<UnitRow>();
        finished = results.length < EXPORT_PAGE_ROWS;
        if (!results.length) {
          controller.close();
          return;
        }
        after = results[results.length - 1].id;
        if (reader) await fillRequests(reader, results);
        let chunk = "";
        for (const row of results) {
          // A private judge's id in the judge key is replaced for callers who may not see it (reports/privacy.ts).
          const rec = view ? view.scrub(exportRecord(runId, row, admin)) : exportRecord(runId, row, admin);
          chunk += format === "csv" ? csvRecord(rec, admin) : `${JSON.stringify(rec)}\n`;
        }
        controller.enqueue(encoder.encode(chunk));
      } catch (err) {
        console.error(JSON.stringify({ event: "export.error", runId, error: err instanceof Error ? err.message : String(err) }));
        controller.error(err);
      }
    },
  });
}
