/**
 * @module queue/import-answers: answers generated elsewhere (a vLLM batch, a paper's released samples) stored as the
 * ask stage of a run, as if the gate had called the model. Each line is scored by the ask stage's own scorer
 * (persona from logprobs or text...), the judge follow-ups it creates are enqueued, and the judges run through the
 * queue as usual. The run is marked `imported`; reports, experiments and exports treat it like any other.
 */
import type { ChatCompletion } from "openai/resources/chat/completions";
import { z } from "zod";
import { type Db, insertIgnoringConflicts, runBatch } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { completeIfFinished } from "../db/queries/runs";
import { currentSuiteVersion, getSuiteVersion, loadItems } from "../db/queries/suites";
import { rowsWithRawRefs } from "../db/raw-answers";
import { responses, runs, units } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { unitId } from "../lib/ids";
import type { StageContext } from "../kinds/types";
import { SUITE_KINDS } from "../suites/kinds";
import type { SuiteItem } from "../suites/types";
import { sampleSeed } from "./planner";
import { sendAll, workMessages } from "./messages";
import { MAX_RUN_UNITS, prepareRun, type RunRequestWithOptions } from "./start-run";
import { appendAll, maxOf } from "../lib/arrays";

/**
 * Largest answer file accepted, in bytes (ours): the lines are parsed as they stream in, but the scored rows of one
 * import are held until they are written, and a Worker has 128 MB of memory (platform-limits guide).
 */
export const MAX_ANSWER_IMPORT_BYTES = 16 * 1024 * 1024;
/** Suite kinds whose answers can be imported: their first stage asks the model once per item-sample. */
export const IMPORTABLE_KINDS = ["persona", "safety", "misalignment", "self-report", "consistency"];
/** Lines per D1 write (ours; each line is up to three rows). */
const LINES_PER_WRITE = 200;

const TopLogprobs = z.union([z.array(z.object({ token: z.string(), logprob: z.number() }).strip()).max(100), z.record(z.string(), z.number())]);

export const AnswerLine = z
  .object({
    item: z.string().min(1).max(500).optional(),
    prompt: z.string().min(1).optional(),
    sample: z.number().int().min(0).max(9_999).optional(),
    answer: z.string(),
    /** The first answer token's top logprobs: [{token, logprob}] or {token: logprob}. */
    logprobs: TopLogprobs.optional(),
    model: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((l) => !!l.item || !!l.prompt, "give item (the item key) or prompt (the exact prompt text)");
export type AnswerLine = z.infer<typeof AnswerLine>;

/** Yields the lines of a byte stream with their 1-based numbers; a 413 as soon as more than `maxBytes` arrived. */
export async function* streamLines(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<{ n: number; text: string }> {
  const decoder = new TextDecoder();
  let bytes = 0;
  let buffered = "";
  let n = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (value) {
      bytes += value.byteLength;
      if (bytes > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new ApiError("payload_too_large", `the answer file is larger than ${maxBytes} bytes (MAX_ANSWER_IMPORT_BYTES); split it into several runs`);
      }
      buffered += decoder.decode(value, { stream: true });
    }
    if (done) buffered += decoder.decode();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      yield { n: ++n, text: buffered.slice(0, nl).replace(/\r$/, "") };
      buffered = buffered.slice(nl + 1);
    }
    if (done) {
      if (buffered.length) yield { n: ++n, text: buffered.replace(/\r$/, "") };
      return;
    }
  }
}

export interface ImportRequest extends RunRequestWithOptions {
  /** A pinned suite version id (`<suite>@<hash>`); else the suite's current version is pinned. */
  suiteVersionId?: string;
}

function dummyCtx(
  item: SuiteItem,
  meta: Record<string, unknown>,
  svId: string,
  sampleIndex: number,
  run: StageContext["run"],
  systemPrompt: string | null,
): StageContext {
  return {
    unit: { id: "", runId: "", kind: "ask", itemKey: item.key, sampleIndex, stage: 0, suiteVersionId: svId, parseRetries: 0, variant: "" },
    item,
    suiteMeta: meta,
    run,
    endpoint: { systemPrompt },
    seed: sampleSeed(run.seed, sampleIndex),
  };
}

const lastUser = (req: { messages: { role: string; content?: unknown }[] }) =>
  String([...req.messages].reverse().find((m) => m.role === "user")?.content ?? "");

/** Stores imported answers as a new run. Lines that match no item, or that are not valid, are a 400 and nothing is stored. */
export async function importAnswers(env: Env, db: Db, req: ImportRequest, body: ReadableStream<Uint8Array>) {
  const suiteName = req.suites[0];
  const version = req.suiteVersionId ? await getSuiteVersion(db, req.suiteVersionId) : await currentSuiteVersion(db, suiteName).catch(() => null);
  if (!version) throw new ApiError("invalid_request", `unknown suite ${req.suiteVersionId ?? suiteName}`);
  const kind = String((version.meta as Record<string, unknown>).kind);
  if (!IMPORTABLE_KINDS.includes(kind))
    throw new ApiError("invalid_request", `answers to a ${kind} suite cannot be imported (importable: ${IMPORTABLE_KINDS.join(", ")})`);
  const endpoint = await getEndpoint(db, req.endpointId).catch(() => {
    throw new ApiError("invalid_request", `endpointId ${req.endpointId} is not a live endpoint`);
  });
  const meta = version.meta as Record<string, unknown>;
  const items = await loadItems(db, version.id);
  const byKey = new Map(items.map((it) => [it.key, it]));
  const stages = SUITE_KINDS[kind].stages;
  const ask = stages.ask;
  // The prompt text each item is asked with (every paraphrase of a misalignment question), without a system prompt.
  const draftRun = { seed: 0, temperature: 1, scoringMode: "sampled", config: {} };
  // Prompt text -> the items asked with it; a text shared by several items (a question asked with and without a
  // system prompt) cannot pick one, and such lines must name their item.
  const byPrompt = new Map<string, Set<string>>();
  const addPrompt = (text: string, key: string) => byPrompt.set(text, (byPrompt.get(text) ?? new Set()).add(key));
  for (const it of items) {
    addPrompt(lastUser(ask.buildRequest(dummyCtx(it, meta, version.id, 0, draftRun, null))), it.key);
    const paraphrases = (it.payload as { paraphrases?: unknown }).paraphrases;
    if (Array.isArray(paraphrases)) for (const p of paraphrases) if (typeof p === "string") addPrompt(p, it.key);
  }

  const parsed: { n: number; line: AnswerLine; itemKey: string; sample: number }[] = [];
  const invalid: { line: number; message: string }[] = [];
  const unmatched: number[] = [];
  const duplicate: number[] = [];
  const ambiguous: number[] = [];
  const seen = new Map<string, number>();
  const nextSample = new Map<string, number>();
  for await (const { n, text } of streamLines(body, MAX_ANSWER_IMPORT_BYTES)) {
    if (!text.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      invalid.push({ line: n, message: "not JSON" });
      continue;
    }
    const r = AnswerLine.safeParse(json);
    if (!r.success) {
      invalid.push({ line: n, message: r.error.issues.map((i) => `${i.path.join(".") || "(line)"}: ${i.message}`).join("; ") });
      continue;
    }
    const candidates =
      r.data.item !== undefined
        ? byKey.has(r.data.item)
          ? [r.data.item]
          : []
        : [...(byPrompt.get(r.data.prompt!) ?? byPrompt.get(r.data.prompt!.trim()) ?? [])];
    if (candidates.length > 1) {
      ambiguous.push(n);
      continue;
    }
    const itemKey = candidates[0];
    if (!itemKey) {
      unmatched.push(n);
      continue;
    }
    const sample = r.data.sample ?? nextSample.get(itemKey) ?? 0;
    nextSample.set(itemKey, Math.max(nextSample.get(itemKey) ?? 0, sample + 1));
    const k = `${itemKey}\u0000${sample}`;
    if (seen.has(k)) {
      duplicate.push(n);
      continue;
    }
    seen.set(k, n);
    parsed.push({ n, line: r.data, itemKey, sample });
    if (parsed.length > MAX_RUN_UNITS)
      throw new ApiError("invalid_request", `more than ${MAX_RUN_UNITS} answers (MAX_RUN_UNITS); split the file into several runs`);
  }
  if (unmatched.length || invalid.length || duplicate.length || ambiguous.length) {
    const parts = [
      unmatched.length
        ? `${unmatched.length} line(s) match no item of ${version.id} (lines ${unmatched.slice(0, 20).join(", ")}${unmatched.length > 20 ? ", ..." : ""})`
        : "",
      invalid.length ? `${invalid.length} invalid line(s) (first: line ${invalid[0].line}: ${invalid[0].message})` : "",
      duplicate.length ? `${duplicate.length} line(s) repeat an (item, sample) pair (lines ${duplicate.slice(0, 20).join(", ")})` : "",
      ambiguous.length ? `${ambiguous.length} line(s) give a prompt that several items share; name the item (lines ${ambiguous.slice(0, 20).join(", ")})` : "",
    ].filter(Boolean);
    throw new ApiError("invalid_request", `nothing imported: ${parts.join("; ")}`, {
      unmatchedLines: unmatched,
      invalidLines: invalid,
      duplicateLines: duplicate,
      ambiguousLines: ambiguous,
    });
  }
  if (!parsed.length) throw new ApiError("invalid_request", "the answer file has no lines");

  const samplesPerItem = maxOf(parsed.map((p) => p.sample)) + 1;
  const logprobs = parsed.some((p) => p.line.logprobs);
  // One sample per item for the plan check: the run's size is the lines it holds, not items x the largest sample index.
  const prepared = await prepareRun(db, { ...req, suites: [version.suiteId], samplesPerItem: 1, triggerVariants: false, seed: req.seed ?? 0 }, env, {
    imported: true,
  });
  const run = {
    ...prepared,
    samplesPerItem,
    suiteVersionIds: [version.id],
    itemLimit: null,
    scoringMode: logprobs ? "logprobs" : "sampled",
    expectedUnits: parsed.length,
    imported: true,
    status: "running",
  };
  const runCtx = { seed: run.seed, temperature: run.temperature, scoringMode: run.scoringMode, config: run.config ?? {} };
  // Follow-ups that call a judge are created; ones that would ask the model again (consistency predictions) are not.
  const judgeStage = (k: string) => stages[k]?.target === "judge";
  const followUps: (typeof units.$inferInsert)[] = [];
  let first = true;
  for (let i = 0; i < parsed.length; i += LINES_PER_WRITE) {
    const askRows: (typeof units.$inferInsert)[] = [];
    const responseRows: (typeof responses.$inferInsert)[] = [];
    const nextRows: (typeof units.$inferInsert)[] = [];
    for (const p of parsed.slice(i, i + LINES_PER_WRITE)) {
      const identity = { runId: run.id!, kind: "ask", suiteVersionId: version.id, itemKey: p.itemKey, sampleIndex: p.sample, stage: 0, variant: "" };
      const id = await unitId(identity);
      const ctx = dummyCtx(byKey.get(p.itemKey)!, meta, version.id, p.sample, runCtx, endpoint.systemPrompt);
      ctx.unit = { ...ctx.unit, id, runId: run.id! };
      const completion = syntheticCompletion(p.line);
      const scored = ask.score(ctx, completion);
      const request = ask.buildRequest(ctx);
      askRows.push({ id, ...identity, status: "done" });
      responseRows.push({
        unitId: id,
        runId: run.id!,
        endpointId: endpoint.id,
        model: p.line.model ?? endpoint.model,
        request: { ...request, seed: request.seed ?? ctx.seed, imported: true },
        raw: { imported: true, line: p.n, ...(p.line.logprobs ? { logprobs: p.line.logprobs } : {}) },
        answer: scored.answer,
        parsed: { ...scored.parsed, imported: true },
        score: scored.score,
        latencyMs: 0,
      });
      for (const nu of (ask.next?.(ctx, scored) ?? []).filter((x) => judgeStage(x.kind)))
        nextRows.push({ id: await unitId({ ...nu, runId: run.id! }), runId: run.id!, parentId: id, ...nu });
    }
    // The raw side goes to R2 first (one object per chunk), the rows keep its key and line (db/raw-answers.ts).
    const storedRows = await rowsWithRawRefs(env.RAW, responseRows);
    await runBatch(db, [
      ...(first ? [db.insert(runs).values(run)] : []),
      ...insertIgnoringConflicts(db, units, [...askRows, ...nextRows]),
      ...insertIgnoringConflicts(db, responses, storedRows),
    ]);
    first = false;
    appendAll(followUps, nextRows);
  }
  if (followUps.length)
    await sendAll(
      env.WORK_QUEUE,
      workMessages(
        run.id!,
        followUps.map((u) => u.id!),
      ),
    );
  else await completeIfFinished(db, run.id!);
  return { runId: run.id!, suiteVersionId: version.id, answers: parsed.length, judgeUnits: followUps.length };
}

/** The answer as the completion the ask stage scores: its text, and the first token's top logprobs when given. */
function syntheticCompletion(line: AnswerLine): ChatCompletion {
  const top = !line.logprobs
    ? null
    : Array.isArray(line.logprobs)
      ? line.logprobs
      : Object.entries(line.logprobs).map(([token, logprob]) => ({ token, logprob }));
  const best = top?.length ? top.reduce((a, b) => (b.logprob > a.logprob ? b : a)) : null;
  return {
    id: "imported",
    object: "chat.completion",
    created: 0,
    model: line.model ?? "imported",
    choices: [
      {
        index: 0,
        finish_reason: "stop",
        message: { role: "assistant", content: line.answer, refusal: null },
        logprobs:
          top && best
            ? {
                content: [
                  {
                    token: best.token,
                    logprob: best.logprob,
                    bytes: null,
                    top_logprobs: top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: null })),
                  },
                ],
                refusal: null,
              }
            : null,
      },
    ],
  } as ChatCompletion;
}
