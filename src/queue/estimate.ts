/**
 * @module queue/estimate: a dry run. The calls a prepared run will make per stage, the tokens they will use and
 * what they will cost, computed without writing anything or calling a model: the planner's stage-0 list, then
 * each stage's own `buildRequest` and `next`, as the consumer would run them, on stand-in answers of the longest
 * allowed length.
 */
import type { Db } from "../db/client";
import { getEndpointsByIds } from "../db/queries/endpoints";
import { getSuiteVersion, loadItems } from "../db/queries/suites";
import type { RunConfig } from "../db/schema";
import { costOf, type Price, priceOf } from "../lib/prices";
import type { ChatParams, NextUnit, StageContext } from "../kinds/types";
import { SUITE_KINDS } from "../suites/kinds";
import type { SuiteItem } from "../suites/types";
import { planList, sampleSeed } from "./planner";
import type { PreparedRun } from "./start-run";

/** Characters per token for English text: OpenAI's rule of thumb ("one token is about 4 characters"). */
export const CHARS_PER_TOKEN = 4;
/** Tokens the chat format adds per message (OpenAI cookbook, "How to count tokens": 3 per message, plus 3 priming; ours rounds to 4). */
export const TOKENS_PER_MESSAGE = 4;
/** Output tokens assumed for a request that sets no max_tokens (ours; every built-in stage sets one). */
export const OUTPUT_TOKENS_WITHOUT_MAX = 1024;

export interface StageEstimate {
  stage: number;
  kind: string;
  target: "model" | "judge";
  endpointId: string | null;
  calls: number;
  inputTokens: number;
  /** Upper bound: every call uses its max_tokens. */
  outputTokens: number;
}

export interface EndpointEstimate {
  endpointId: string;
  model: string | null;
  role: "model" | "judge";
  calls: number;
  inputTokens: number;
  outputTokens: number;
  price: Price | null;
  /** USD; null when the endpoint declares no price. */
  cost: number | null;
}

/** Estimated prompt tokens of a request's messages. */
export function estimateInputTokens(request: ChatParams): number {
  let tokens = 3;
  for (const m of request.messages) {
    const content = typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "");
    tokens += TOKENS_PER_MESSAGE + Math.ceil(content.length / CHARS_PER_TOKEN);
  }
  return tokens;
}

function outputTokensOf(request: ChatParams): number {
  return request.max_tokens ?? request.max_completion_tokens ?? OUTPUT_TOKENS_WITHOUT_MAX;
}

const standIns = new Map<number, string>();
/** A stand-in answer as long as `tokens` output tokens, for the follow-up stages' prompts. */
function standInAnswer(tokens: number): string {
  let s = standIns.get(tokens);
  if (!s) {
    s = "x".repeat(Math.max(1, tokens) * CHARS_PER_TOKEN);
    if (standIns.size < 64) standIns.set(tokens, s);
  }
  return s;
}

interface SimUnit {
  kind: string;
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  stage: number;
  variant: string;
  judge: string | null;
  /** Output tokens of the unit this one follows (its stand-in answer's length); absent for stage 0. */
  parentTokens?: number;
}

/**
 * The dry run of a prepared run: planned calls per stage and endpoint, tokens and cost. Follow-up stages are
 * counted as if every answer is non-empty and parses (their usual case); re-asks after an unparseable answer and
 * transient retries are not counted.
 */
export async function estimateRun(db: Db, prepared: PreparedRun) {
  // The settings launchRun pins (a consistency run's base run) decide some follow-ups: apply them, without writing.
  let config: RunConfig = prepared.config ?? {};
  const runFields = { ...prepared, itemLimit: prepared.itemLimit ?? null, config };
  for (const svId of prepared.suiteVersionIds) {
    const configure = SUITE_KINDS[String(((await getSuiteVersion(db, svId))?.meta as Record<string, unknown> | undefined)?.kind)]?.configure;
    if (configure) config = { ...config, ...(await configure(db, runFields, svId)) };
  }
  const plan = await planList(db, { ...runFields, config });
  const items = new Map<string, Map<string, SuiteItem>>();
  const metas = new Map<string, Record<string, unknown>>();
  for (const svId of prepared.suiteVersionIds) {
    items.set(svId, new Map((await loadItems(db, svId)).map((it) => [it.key, it])));
    metas.set(svId, ((await getSuiteVersion(db, svId))?.meta ?? {}) as Record<string, unknown>);
  }
  const judgeOf = (key: string | null) => (key ? key.split("@")[0] : (config.judge?.endpointId ?? null));
  const endpointIds = [prepared.endpointId, ...(config.judge ? [config.judge.endpointId] : [])];
  const endpoints = await getEndpointsByIds(db, endpointIds);
  const run = { seed: prepared.seed, temperature: prepared.temperature, scoringMode: prepared.scoringMode, config };

  const byStage = new Map<string, StageEstimate>();
  const byEndpoint = new Map<string, EndpointEstimate>();
  const notes = new Set<string>();
  let calls = 0;
  // Depth first from each stage-0 unit, so memory holds one unit's chain of follow-ups, not the whole run's.
  const stack: SimUnit[] = [];
  for (let p = plan.length - 1; p >= 0; p--) stack.push({ ...plan[p], stage: 0, judge: null });
  while (stack.length) {
    const u = stack.pop()!;
    const i = calls;
    const meta = metas.get(u.suiteVersionId) ?? {};
    const stage = SUITE_KINDS[String(meta.kind)]?.stages[u.kind];
    const item = items.get(u.suiteVersionId)?.get(u.itemKey);
    if (!stage || !item) continue;
    const target = stage.target === "judge" ? judgeOf(u.judge) : prepared.endpointId;
    const ep = target ? endpoints.get(target) : undefined;
    const ctx: StageContext = {
      unit: {
        id: `dry-${i}`,
        runId: prepared.id ?? "dry-run",
        kind: u.kind,
        itemKey: u.itemKey,
        sampleIndex: u.sampleIndex,
        stage: u.stage,
        suiteVersionId: u.suiteVersionId,
        parseRetries: 0,
        variant: u.variant,
        judge: u.judge,
      },
      item,
      suiteMeta: meta,
      run,
      endpoint: { systemPrompt: ep?.systemPrompt ?? null, trigger: ep?.trigger, triggerFormat: ep?.triggerFormat },
      parent: u.parentTokens !== undefined ? { answer: standInAnswer(u.parentTokens), parsed: {} } : undefined,
      seed: sampleSeed(prepared.seed, u.sampleIndex),
      // What a `prepare` hook would load (another run's answer) is stood in for by an answer of typical length.
      extra: new Proxy({}, { get: (_t, k) => (typeof k === "string" ? standInAnswer(64) : undefined) }),
    };
    let inputTokens = 0;
    let outputTokens = OUTPUT_TOKENS_WITHOUT_MAX;
    try {
      const request = stage.buildRequest(ctx);
      inputTokens = estimateInputTokens(request);
      outputTokens = outputTokensOf(request);
    } catch {
      notes.add(`the ${u.kind} stage's prompt could not be built without its stored inputs; its input tokens are counted as 0`);
    }
    calls++;
    const sk = `${u.stage}\u0000${u.kind}\u0000${target}`;
    const s = byStage.get(sk) ?? { stage: u.stage, kind: u.kind, target: stage.target, endpointId: target, calls: 0, inputTokens: 0, outputTokens: 0 };
    s.calls++;
    s.inputTokens += inputTokens;
    s.outputTokens += outputTokens;
    byStage.set(sk, s);
    const role = u.judge ? "judge" : "model";
    const ek = `${target}\u0000${role}`;
    const e = byEndpoint.get(ek) ?? {
      endpointId: target ?? "",
      model: ep?.model ?? null,
      role,
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      price: config.prices?.[target ?? ""] ?? priceOf(ep),
      cost: null,
    };
    e.calls++;
    e.inputTokens += inputTokens;
    e.outputTokens += outputTokens;
    byEndpoint.set(ek, e);
    const next: NextUnit[] = stage.next?.(ctx, { answer: standInAnswer(outputTokens), parsed: {}, score: null }) ?? [];
    for (let k = next.length - 1; k >= 0; k--) {
      const n = next[k];
      stack.push({
        kind: n.kind,
        suiteVersionId: n.suiteVersionId,
        itemKey: n.itemKey,
        sampleIndex: n.sampleIndex,
        stage: n.stage ?? 0,
        variant: n.variant ?? "",
        judge: n.judge ?? null,
        parentTokens: outputTokens,
      });
    }
  }
  const endpointsOut = [...byEndpoint.values()].map((e) => ({ ...e, cost: costOf(e.inputTokens, e.outputTokens, e.price) }));
  const total = (f: (e: EndpointEstimate) => number) => endpointsOut.reduce((a, e) => a + f(e), 0);
  return {
    dryRun: true as const,
    run: {
      endpointId: prepared.endpointId,
      endpointRevision: prepared.endpointRevision,
      suiteVersionIds: prepared.suiteVersionIds,
      samplesPerItem: prepared.samplesPerItem,
      temperature: prepared.temperature,
      seed: prepared.seed,
      limit: prepared.itemLimit ?? null,
      scoringMode: prepared.scoringMode,
      judge: config.judge ?? null,
      variants: config.variants?.length ? config.variants : [""],
      judgeScoring: config.judgeScoring ?? null,
    },
    expectedUnits: prepared.expectedUnits,
    calls: { total: calls, byStage: [...byStage.values()].sort((a, b) => a.stage - b.stage || a.kind.localeCompare(b.kind)), byEndpoint: endpointsOut },
    tokens: { input: total((e) => e.inputTokens), outputMax: total((e) => e.outputTokens) },
    cost: { total: endpointsOut.some((e) => e.cost == null) ? null : total((e) => e.cost ?? 0), currency: "USD" as const, upperBound: true as const },
    method: `input tokens: characters / ${CHARS_PER_TOKEN} + ${TOKENS_PER_MESSAGE} per message (an estimate; tokenizers differ); output tokens: each request's max_tokens (an upper bound); follow-up calls as if every answer is non-empty and parses; retries not counted`,
    notes: [...notes],
  };
}

export type RunEstimate = Awaited<ReturnType<typeof estimateRun>>;

/** Calls, tokens and cost of several dry runs together (a run and its base run, an experiment's runs); cost null when any is. */
export function totalOf(estimates: RunEstimate[]) {
  const sum = (f: (r: RunEstimate) => number) => estimates.reduce((a, r) => a + f(r), 0);
  const costs = estimates.map((r) => r.cost.total);
  return {
    calls: sum((r) => r.calls.total),
    inputTokens: sum((r) => r.tokens.input),
    outputTokensMax: sum((r) => r.tokens.outputMax),
    cost: costs.some((c) => c == null) ? null : sum((r) => r.cost.total ?? 0),
  };
}
