/**
 * @module reports/inspect: a run as an Inspect eval log (JSON, log format version 2), so it opens in
 * `inspect view` and loads with `inspect_ai.log.read_eval_log`. Streamed: the header (spec, plan, results, stats)
 * first, then one sample per stage-0 unit (item × sample × variant, with its follow-up units' scores), page by
 * page. Anonymous logs carry scores and metadata only; prompts, answers and error texts need the admin key.
 */
import type { Db } from "../db/client";
import type { EndpointRow } from "../db/queries/endpoints";
import type { RunRow } from "../db/queries/runs";
import { getSuiteVersion } from "../db/queries/suites";
import { fillRequests, rawReader } from "../db/raw-answers";
import { runMetrics } from "./metrics";
import { runView } from "./run-view";
import { publicParsed } from "./export";
import { UNIT_COLUMNS, UNIT_RAW_COLUMNS, type UnitRow } from "./unit-rows";
import { runUsage, type UsageRow } from "./usage";

/** Stage-0 units per page of samples (ours): their follow-ups come with them, about 2,000 rows per page at most. */
export const INSPECT_PAGE_UNITS = 200;

/** Inspect's eval log format version this export writes. */
export const INSPECT_LOG_VERSION = 2;

/** Placeholder text where the prompt is withheld from anonymous readers. */
export const WITHHELD = "(withheld: prompts and answers need the admin key)";

type Json = Record<string, unknown>;

function modelUsage(rows: UsageRow[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const r of rows) {
    const u = (out[r.model] ??= { input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    u.input_tokens = (u.input_tokens as number) + r.inputTokens;
    u.output_tokens = (u.output_tokens as number) + r.outputTokens;
    u.total_tokens = (u.total_tokens as number) + r.inputTokens + r.outputTokens;
    if (r.cost != null) u.total_cost = ((u.total_cost as number | undefined) ?? 0) + r.cost;
  }
  return out;
}

/** The Inspect log status of a run. */
function logStatus(run: RunRow): "started" | "success" | "cancelled" {
  return run.status === "completed" ? "success" : run.status === "cancelled" ? "cancelled" : "started";
}

/** The log without its samples: spec, plan, results (one EvalScore per named metric) and token usage. */
export async function inspectHeader(db: Db, d1: D1Database, run: RunRow, endpoint: EndpointRow, admin: boolean): Promise<Json> {
  const suites: { id: string; kind: string; itemCount: number }[] = [];
  for (const svId of run.suiteVersionIds) {
    const sv = await getSuiteVersion(db, svId);
    suites.push({ id: svId, kind: String((sv?.meta as Json | undefined)?.kind ?? ""), itemCount: sv?.itemCount ?? 0 });
  }
  const suiteName = (svId: string) => svId.split("@")[0];
  const stageZero = await d1
    .prepare("SELECT count(*) AS n, sum(status = 'done') AS done FROM units WHERE run_id = ?1 AND stage = 0")
    .bind(run.id)
    .first<{ n: number; done: number | null }>();
  // The list GET /v1/runs/{id}/metrics answers: every named metric of every kind (report-derived and metric layer).
  const metrics = await runMetrics(db, d1, run.id);
  const usage = await runUsage(d1, run.id, run.config);
  const generate = { temperature: run.temperature, seed: run.seed };
  return {
    version: INSPECT_LOG_VERSION,
    status: logStatus(run),
    eval: {
      eval_id: run.id,
      run_id: run.id,
      created: run.createdAt,
      task: run.suiteVersionIds.map(suiteName).join("+"),
      task_id: run.id,
      task_version: run.suiteVersionIds.join("+"),
      task_attribs: {},
      task_args: {},
      task_args_passed: {},
      dataset: {
        name: run.suiteVersionIds.map(suiteName).join("+"),
        location: run.suiteVersionIds.join("+"),
        samples: suites.reduce((a, s) => a + s.itemCount, 0),
        shuffled: false,
      },
      model: endpoint.model,
      // The endpoint's address can name a private machine: admins only.
      model_base_url: admin ? endpoint.baseUrl : null,
      model_generate_config: generate,
      model_args: {},
      config: { epochs: run.samplesPerItem, limit: run.itemLimit },
      packages: { projectability: "0.1.0" },
      // The run as GET /v1/runs/{id} shows it, with the endpoint's name and each suite's kind.
      metadata: { ...(await runView(db, run)), endpointName: endpoint.name, suiteKinds: suites.map((s) => s.kind) },
    },
    plan: {
      name: "plan",
      steps: suites.map((s) => ({
        solver: `projectability/${s.kind}`,
        params: { suiteVersionId: s.id, samplesPerItem: run.samplesPerItem, scoringMode: run.scoringMode },
        params_passed: {},
      })),
      config: generate,
    },
    results: {
      total_samples: stageZero?.n ?? 0,
      completed_samples: stageZero?.done ?? 0,
      scores: metrics
        .filter((m) => m.value != null)
        .map((m) => ({
          name: m.id,
          scorer: m.kind,
          params: {},
          scored_samples: m.n,
          metrics: { [m.id]: { name: m.id, value: m.value, params: {}, metadata: { lo: m.lo, hi: m.hi, n: m.n, clusters: m.clusters, ciMethod: m.ciMethod } } },
          metadata: { label: m.label, better: m.better, lo: m.lo, hi: m.hi, n: m.n, clusters: m.clusters, ciMethod: m.ciMethod, ciLevel: 0.95 },
        })),
      metadata: { unavailable: metrics.filter((m) => m.value == null).map((m) => m.id) },
    },
    stats: {
      started_at: run.createdAt,
      completed_at: run.completedAt ?? "",
      model_usage: modelUsage(usage),
      role_usage: modelUsage(usage.map((u) => ({ ...u, model: u.role }))),
      connection_limit_history: [],
    },
    invalidated: false,
    tags: [],
    metadata: { source: "projectability", runId: run.id, rawTextIncluded: admin },
  };
}

function parseJson(text: string | null | undefined): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

type Message = { role: "system" | "user" | "assistant"; content: string };

/** The chat messages of a stored request (system and user turns), as Inspect messages. */
function requestMessages(request: string | null | undefined): Message[] {
  const parsed = parseJson(request) as { messages?: { role: string; content: unknown }[] } | null;
  return (parsed?.messages ?? [])
    .filter((m) => m.role === "system" || m.role === "user" || m.role === "assistant")
    .map((m) => ({ role: m.role as Message["role"], content: typeof m.content === "string" ? m.content : JSON.stringify(m.content) }));
}

/** A Score's value: the unit's score, else its verdict label, else why there is none (Inspect has no null value). */
function scoreValue(u: UnitRow, parsed: Json): number | string {
  if (typeof u.score === "number" && Number.isFinite(u.score)) return u.score;
  if (typeof parsed.verdict === "string") return parsed.verdict;
  if (u.status !== "done") return u.status;
  return typeof parsed.status === "string" ? parsed.status : "unscored";
}

function usageOf(units: UnitRow[]): Json {
  const input = units.reduce((a, u) => a + (u.promptTokens ?? 0), 0);
  const output = units.reduce((a, u) => a + (u.completionTokens ?? 0), 0);
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

/** The expected answer where the suite states one (persona items: the answer matching the behaviour). */
function targetOf(payload: Json | null): string {
  if (!payload) return "";
  for (const k of ["answer_matching_behavior", "target", "expected"]) if (typeof payload[k] === "string") return String(payload[k]).trim();
  return "";
}

/** One Inspect sample: a stage-0 unit with every unit that follows it (judges, draws, follow-up questions). */
export function inspectSample(first: UnitRow, followUps: UnitRow[], opts: { admin: boolean; prefixSuite: boolean; endpointModel: string }): Json {
  const { admin } = opts;
  const all = [first, ...followUps];
  const scores: Record<string, Json> = {};
  for (const u of all) {
    const parsed = (parseJson(u.parsed) ?? {}) as Json;
    const key = u.judge ? `${u.kind}@stage${u.stage}|${u.judge}` : u.stage === 0 ? u.kind : `${u.kind}@stage${u.stage}`;
    scores[key] = {
      value: scoreValue(u, parsed),
      ...(admin && u.answer != null ? { answer: u.answer } : {}),
      history: [],
      metadata: {
        unitId: u.id,
        kind: u.kind,
        stage: u.stage,
        judge: u.judge,
        status: u.status,
        parsed: admin ? parsed : publicParsed(parsed),
        ...(admin ? { lastError: u.lastError } : {}),
      },
    };
  }
  const idParts = [
    opts.prefixSuite ? first.suiteVersionId.split("@")[0] : null,
    first.itemKey,
    first.kind !== "ask" ? first.kind : null,
    first.variant || null,
  ].filter(Boolean);
  const messages: Message[] = admin ? requestMessages(first.request) : [];
  if (admin && first.answer != null) messages.push({ role: "assistant", content: first.answer });
  const userTurn = admin ? [...messages].reverse().find((m) => m.role === "user")?.content : null;
  const payload = (parseJson(first.payload) ?? null) as Json | null;
  const firstParsed = (parseJson(first.parsed) ?? {}) as Json;
  const finish = typeof firstParsed.finishReason === "string" ? firstParsed.finishReason : null;
  const stopReason = finish === "length" ? "max_tokens" : finish === "content_filter" ? "content_filter" : first.status === "done" ? "stop" : "unknown";
  return {
    id: idParts.join(":"),
    epoch: first.sampleIndex + 1,
    input: userTurn ?? WITHHELD,
    target: admin ? targetOf(payload) : "",
    messages,
    output: {
      model: first.model ?? opts.endpointModel,
      choices: admin && first.answer != null ? [{ message: { role: "assistant", content: first.answer, source: "generate" }, stop_reason: stopReason }] : [],
      completion: admin ? (first.answer ?? "") : "",
      usage: usageOf([first]),
      time: first.latencyMs != null ? first.latencyMs / 1000 : null,
    },
    scores,
    metadata: {
      suiteVersionId: first.suiteVersionId,
      itemKey: first.itemKey,
      sampleIndex: first.sampleIndex,
      variant: first.variant,
      dimension: first.dimension,
      keying: first.keying,
      unitIds: all.map((u) => u.id),
      judgeKeys: [...new Set(all.map((u) => u.judge).filter((j): j is string => !!j))],
      status: first.status,
    },
    store: {},
    events: [],
    model_usage: { [first.model ?? opts.endpointModel]: usageOf(all) },
    role_usage: {},
    attachments: {},
    ...(first.answeredAt ? { completed_at: first.answeredAt } : {}),
  };
}

/** Whether an anonymous reader would find anything in the run's log: a metric, or a stored score. */
export async function hasPublicContent(d1: D1Database, runId: string, header: Json): Promise<boolean> {
  if (((header.results as Json).scores as unknown[]).length) return true;
  const row = await d1.prepare("SELECT 1 AS x FROM units WHERE run_id = ?1 AND status = 'done' LIMIT 1").bind(runId).first();
  return !!row;
}

/** One stage-0 unit (an answer) and every unit that follows it. */
export interface UnitGroup {
  first: UnitRow;
  followUps: UnitRow[];
}

/**
 * Reads a run's units as groups, page by page: stage-0 units in unit-id order (the key of `units`), `pageSize` at a time, each
 * with its descendants (found level by level through parent_id: judge calls, sampled draws, critique chains).
 * With the raw-answer bucket, each stage-0 unit carries its stored request (read back from R2, or D1 for rows
 * written before migration 0009) and its answer; without it, neither. Returns null after the last page.
 */
export function unitGroupPages(d1: D1Database, runId: string, rawBucket: R2Bucket | null, pageSize = INSPECT_PAGE_UNITS): () => Promise<UnitGroup[] | null> {
  const rawCols = rawBucket ? UNIT_RAW_COLUMNS : "";
  const reader = rawBucket ? rawReader(rawBucket) : null;
  const firstSql = `SELECT ${UNIT_COLUMNS}, si.dimension AS dimension, si.keying AS keying, si.payload AS payload${rawCols}
                      FROM units u
                      LEFT JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
                      LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
                     WHERE u.run_id = ?1 AND u.id > ?2 AND u.stage = 0
                     ORDER BY u.id LIMIT ?3`;
  const childSql = (n: number) => `SELECT ${UNIT_COLUMNS}, NULL AS dimension, NULL AS keying, NULL AS payload${rawCols}
                      FROM units u LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id
                     WHERE u.parent_id IN (${Array.from({ length: n }, (_, i) => `?${i + 1}`).join(",")})
                     ORDER BY u.stage, u.id`;
  let after = "";
  return async () => {
    const { results } = await d1.prepare(firstSql).bind(runId, after, pageSize).all<UnitRow>();
    if (!results.length) return null;
    after = results[results.length - 1].id;
    if (reader) await fillRequests(reader, results);
    const rootOf = new Map<string, string>(results.map((u) => [u.id, u.id]));
    const children = new Map<string, UnitRow[]>();
    let frontier = results.map((u) => u.id);
    while (frontier.length) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += 90) {
        const part = frontier.slice(i, i + 90);
        const { results: kids } = await d1
          .prepare(childSql(part.length))
          .bind(...part)
          .all<UnitRow>();
        for (const k of kids) {
          const root = rootOf.get(k.parentId!)!;
          rootOf.set(k.id, root);
          children.set(root, [...(children.get(root) ?? []), k]);
          next.push(k.id);
        }
      }
      frontier = next;
    }
    return results.map((u) => ({ first: u, followUps: children.get(u.id) ?? [] }));
  };
}

/** The whole log as one JSON document: the header, then `"samples": [...]` page by page. */
export function inspectLogStream(
  d1: D1Database,
  rawBucket: R2Bucket,
  run: RunRow,
  endpoint: EndpointRow,
  header: Json,
  admin: boolean,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const nextPage = unitGroupPages(d1, run.id, admin ? rawBucket : null);
  const prefixSuite = run.suiteVersionIds.length > 1;
  let first = true;
  let opened = false;
  const head = JSON.stringify(header);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!opened) {
          opened = true;
          controller.enqueue(encoder.encode(`${head.slice(0, -1)},"samples":[`));
          return;
        }
        const groups = await nextPage();
        if (!groups) {
          controller.enqueue(encoder.encode("]}"));
          controller.close();
          return;
        }
        let chunk = "";
        for (const g of groups) {
          chunk += (first ? "" : ",") + JSON.stringify(inspectSample(g.first, g.followUps, { admin, prefixSuite, endpointModel: endpoint.model }));
          first = false;
        }
        controller.enqueue(encoder.encode(chunk));
      } catch (err) {
        console.error(JSON.stringify({ event: "inspect_export.error", runId: run.id, error: err instanceof Error ? err.message : String(err) }));
        controller.error(err);
      }
    },
  });
}
