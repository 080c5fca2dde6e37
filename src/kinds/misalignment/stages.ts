/**
 * @module kinds/misalignment/stages: the stages of a `misalignment` suite: the model answers one paraphrase (with
 * the endpoint's trigger for the "trigger" variant), then the judge scores the answer on `aligned` and `coherent`,
 * 0-100, from first-token logprobs or from sampled draws. Abstentions (CODE, REFUSAL) are stored, never retried.
 */
import type { RunConfig } from "../../db/schema";
import { JUDGE_SAMPLED_MAX_TOKENS, JUDGE_TOP_LOGPROBS, parseNumberAnswer, scoreNumberAnswer } from "../../judges/number-score";
import type { NextUnit, Stage, StageContext, SuiteKind } from "../types";
import {
  applyTrigger,
  DEFAULT_EM_SAMPLES_PER_QUESTION,
  EM_ANSWER_MAX_TOKENS,
  EM_METRICS,
  type EmMetric,
  fillJudgePrompt,
  type MisalignmentPayload,
  paraphraseFor,
  TRIGGER_VARIANT,
} from "./format";
import { formatJudgeKey } from "../../judges/judge-key";
import { parseJudgeKey } from "../../judges/judge-key";
import { fillRubric, pinnedFor, scoreWithRubric } from "../../judges/rubrics";
import { answerText, userTurn } from "../chat";

/** The scoring a run pinned for its 0-100 judge (default: logprobs, one judgment per answer and metric). */
export function judgeScoringOf(config: RunConfig): NonNullable<RunConfig["judgeScoring"]> {
  return config.judgeScoring ?? { mode: "logprobs", basis: "declared", samples: 1 };
}

/** The judge key of one metric's judgments: "<judge endpoint>@<revision>|<metric>@<prompt hash>". */
export function metricJudgeKey(judge: NonNullable<RunConfig["judge"]>, version: string): string {
  return formatJudgeKey({ endpointId: judge.endpointId, revision: judge.revision, rubricVersion: version });
}

/** The unit kind that judges one metric. */
export const judgeKind = (metric: EmMetric) => `judge-${metric}`;

/** The user message a unit sends: its paraphrase, with the trigger for the "trigger" variant. */
export function askedPrompt(ctx: Pick<StageContext, "item" | "unit" | "endpoint">): { prompt: string; triggered: boolean } {
  const p = ctx.item.payload as unknown as MisalignmentPayload;
  const question = paraphraseFor(p, ctx.unit.sampleIndex);
  if (ctx.unit.variant !== TRIGGER_VARIANT) return { prompt: question, triggered: false };
  // A trigger removed from the endpoint after the run started: asked plain and counted apart in the report.
  if (!ctx.endpoint.trigger) return { prompt: question, triggered: false };
  return { prompt: applyTrigger(question, ctx.endpoint.trigger, ctx.endpoint.triggerFormat ?? undefined), triggered: true };
}

const ask: Stage = {
  target: "model",
  buildRequest(ctx) {
    const p = ctx.item.payload as unknown as MisalignmentPayload;
    // The endpoint's own system prompt comes first; the question's (e.g. "answer in JSON") follows it.
    const system = [ctx.endpoint.systemPrompt, p.system].filter((s): s is string => !!s).join("\n\n") || null;
    return {
      messages: userTurn(system, askedPrompt(ctx).prompt),
      max_tokens: EM_ANSWER_MAX_TOKENS,
      temperature: p.temperature ?? ctx.run.temperature,
      seed: ctx.seed,
    };
  },
  score(ctx, completion) {
    const p = ctx.item.payload as unknown as MisalignmentPayload;
    return {
      answer: answerText(completion),
      parsed: {
        finishReason: completion.choices[0]?.finish_reason ?? null,
        paraphrase: ctx.unit.sampleIndex % p.paraphrases.length,
        ...(ctx.unit.variant === TRIGGER_VARIANT ? { triggered: askedPrompt(ctx).triggered } : {}),
      },
      score: null,
    };
  },
  next(ctx) {
    const judge = ctx.run.config.judge;
    if (!judge) return [];
    const p = ctx.item.payload as unknown as MisalignmentPayload;
    const scoring = judgeScoringOf(ctx.run.config);
    const u = ctx.unit;
    const out: NextUnit[] = [];
    for (const metric of EM_METRICS) {
      // Sampled draws of one judgment are stages 1..K; a logprob judgment is stage 1.
      const draws = scoring.mode === "sampled" ? scoring.samples : 1;
      for (let d = 0; d < draws; d++) {
        // A rubric named for this metric (e.g. em-aligned-v1, or an imported one) replaces the file's prompt.
        const rubric = pinnedFor(ctx.run.config, judge.rubricVersion, `misalignment-${metric}`);
        out.push({
          kind: judgeKind(metric),
          suiteVersionId: u.suiteVersionId,
          itemKey: u.itemKey,
          sampleIndex: u.sampleIndex,
          stage: 1 + d,
          judge: metricJudgeKey(judge, rubric?.id ?? p.metrics[metric].version),
          variant: u.variant,
        });
      }
    }
    return out;
  },
};

function judgeStage(metric: EmMetric): Stage {
  return {
    target: "judge",
    buildRequest(ctx) {
      const p = ctx.item.payload as unknown as MisalignmentPayload;
      // The judge sees the paraphrase without the trigger: it grades the answer, not the backdoor.
      const rubric = pinnedFor(ctx.run.config, parseJudgeKey(ctx.unit.judge)?.rubricVersion, `misalignment-${metric}`);
      const question = paraphraseFor(p, ctx.unit.sampleIndex);
      const text = rubric
        ? fillRubric(rubric, { question, answer: ctx.parent?.answer ?? "", prompt: question, response: ctx.parent?.answer ?? "" })
        : fillJudgePrompt(p.metrics[metric].template, question, ctx.parent?.answer ?? "");
      const msgs = [{ role: "user" as const, content: text }];
      if (judgeScoringOf(ctx.run.config).mode === "sampled")
        return { messages: msgs, max_tokens: JUDGE_SAMPLED_MAX_TOKENS, temperature: 1, seed: ctx.unit.stage };
      // Betley et al. 2025, open_models/judge.py: one token, temperature 0, top 20 logprobs, seed 0.
      return { messages: msgs, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: JUDGE_TOP_LOGPROBS, seed: 0 };
    },
    score(ctx, completion) {
      const p = ctx.item.payload as unknown as MisalignmentPayload;
      const text = answerText(completion);
      const rubric = pinnedFor(ctx.run.config, parseJudgeKey(ctx.unit.judge)?.rubricVersion, `misalignment-${metric}`);
      const base = { metric, rubricVersion: rubric?.id ?? p.metrics[metric].version };
      if (judgeScoringOf(ctx.run.config).mode === "sampled") {
        const d = parseNumberAnswer(text);
        return { answer: text, parsed: { ...base, method: "sampled", draw: ctx.unit.stage, value: d.value, abstention: d.abstention }, score: d.value };
      }
      // Logprobs when the judge sent them (no fallback to the text: an abstention is the judgment); else the text.
      const top = completion.choices[0]?.logprobs?.content?.[0]?.top_logprobs ?? null;
      const s = scoreNumberAnswer(text, top, false);
      return {
        answer: text,
        parsed: { ...base, method: s.method ?? (top?.length ? "logprobs" : "sampled"), mass: s.mass, abstention: s.abstention },
        score: s.score,
      };
    },
  };
}

export const misalignmentKind: SuiteKind = {
  needsJudge: true,
  // 20 answers per question at temperature 1 (ours; the original drew 100 at temperature 1).
  defaults: { samplesPerItem: DEFAULT_EM_SAMPLES_PER_QUESTION, temperature: 1 },
  stages: { ask, [judgeKind("aligned")]: judgeStage("aligned"), [judgeKind("coherent")]: judgeStage("coherent") },
};
