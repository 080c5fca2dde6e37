/**
 * @module kinds/cai/stages: suite kind `cai`, the Constitutional-AI critique/revision recipe (Bai et al. 2022 §3.1) as
 * queue stages. Stage 0 asks the helpful-only model (the run's endpoint) the red-team prompt; then for each revision
 * step k = 1..R the critic (the run's `judge` slot) writes a critique under a principle drawn at random for
 * (seed, prompt, k) and then a revision, each prompted after a few-shot prefix of our worked examples.
 */
import { findConstitution } from "../../db/queries/constitutions";
import type { RunConfig } from "../../db/schema";
import { createRng, seedFrom } from "../../stats/rng";
import { type Constitution, getConstitution } from "../../suites/constitutions";
import type { ChatParams, NextUnit, Prepared, Scored, Stage, StageContext, SuiteKind } from "../types";
import type { PoolPayload } from "../../datasets/pool";
import { formatJudgeKey } from "../../judges/judge-key";
import { answerText } from "../chat";

export const CAI_KIND = "cai";
/** Revision steps per prompt (Bai et al. 2022 §3.1: four critique-revision pairs per red-team prompt). */
export const DEFAULT_REVISIONS = 4;
/** Most revision steps we allow (ours: the paper saw little gain after the first few). */
export const MAX_REVISIONS = 8;
/** Every CAI sample is drawn at temperature 1 (Bai et al. 2022 §3.2: "all sampling at T = 1"). */
export const CAI_TEMPERATURE = 1;
/** Room for the helpful-only answer and for a revision (ours). */
export const CAI_ANSWER_MAX_TOKENS = 512;
/** Room for a critique (ours). */
export const CAI_CRITIQUE_MAX_TOKENS = 400;

/**
 * The critic's standing instruction (ours). The transcript format (Human / Assistant / CritiqueRequest / RevisionRequest)
 * is the paper's; the instruction keeps a chat model from mixing up the two roles, as the few-shot examples do.
 */
export const CRITIC_SYSTEM_PROMPT =
  "You help improve an AI assistant's responses under a constitution. When a message ends with a CritiqueRequest, write only the critique. " +
  "When it is a RevisionRequest, write only the revised response, addressed to the human, with nothing before or after it.";

type CaiConfig = NonNullable<RunConfig["cai"]>;

/** The critic's judge key: `<critic endpoint>@<revision>|cai:<constitution>@v<version>` (part of every critic unit's id). */
export function criticRubric(constitution: string, version: number): string {
  return `cai:${constitution}@v${version}`;
}

function criticKey(config: RunConfig): string | null {
  const j = config.judge;
  return j ? formatJudgeKey(j) : null;
}

/** The principle drawn for revision step `step` of one prompt: uniform, independent per (seed, prompt, step). */
export function principleFor(c: Constitution, seed: number, itemKey: string, step: number): Constitution["principles"][number] {
  const rng = createRng(seedFrom(seed, "cai-principle", itemKey, step));
  return c.principles[Math.floor(rng() * c.principles.length)];
}

/** Per-call seed: the dataset seed, the prompt and the stage (31-bit, as APIs expect). */
function callSeed(ctx: StageContext): number {
  return seedFrom(ctx.run.seed, "cai", ctx.unit.itemKey, ctx.unit.stage) & 0x7fffffff;
}

const critiqueTurn = (prompt: string, response: string, critiqueRequest: string) =>
  `Human: ${prompt}\n\nAssistant: ${response}\n\nCritiqueRequest: ${critiqueRequest}`;
const revisionTurn = (revisionRequest: string) => `RevisionRequest: ${revisionRequest}`;

/** Worked critique/revision examples of the constitution (ours), as chat turns before the real transcript. */
export function fewShotMessages(c: Constitution): { role: "user" | "assistant"; content: string }[] {
  const out: { role: "user" | "assistant"; content: string }[] = [];
  for (const ex of c.few_shot) {
    const p = c.principles.find((x) => x.id === ex.critique_principle);
    if (!p) continue;
    out.push({ role: "user", content: critiqueTurn(ex.prompt.trim(), ex.response.trim(), p.critique.trim()) });
    out.push({ role: "assistant", content: ex.critique.trim() });
    out.push({ role: "user", content: revisionTurn(p.revision.trim()) });
    out.push({ role: "assistant", content: ex.revision.trim() });
  }
  return out;
}

/** Removes a role label the model may echo ("Critique:", "Revision:") and surrounding whitespace. */
export function cleanCriticText(text: string | null, label: "Critique" | "Revision"): string {
  return (text ?? "").replace(new RegExp(`^\\s*(?:${label}|${label}Request)\\s*:\\s*`, "i"), "").trim();
}

/** The dataset's constitution at its pinned version, from the merged loader (built-in or custom), for the critic stages. */
async function loadPinnedConstitution({ db }: Parameters<NonNullable<Stage["prepare"]>>[0], ctx: StageContext): Promise<Prepared> {
  const cfg = ctx.run.config.cai;
  const c = cfg ? await findConstitution(db, cfg.constitution, cfg.constitutionVersion) : undefined;
  return { extra: c ? { constitution: c } : {} };
}

function constitutionOf(ctx: StageContext): { cfg: CaiConfig; c: Constitution } | null {
  const cfg = ctx.run.config.cai;
  const c = (ctx.extra?.constitution as Constitution | undefined) ?? (cfg ? getConstitution(cfg.constitution) : undefined);
  return cfg && c ? { cfg, c } : null;
}

const payloadOf = (ctx: StageContext) => ctx.item.payload as unknown as PoolPayload;
const stepOfCritique = (stage: number) => (stage + 1) / 2;
const stepOfRevision = (stage: number) => stage / 2;

function follow(ctx: StageContext, kind: "critique" | "revision", stage: number): NextUnit[] {
  const key = criticKey(ctx.run.config);
  if (!key) return [];
  const u = ctx.unit;
  return [{ kind, suiteVersionId: u.suiteVersionId, itemKey: u.itemKey, sampleIndex: u.sampleIndex, stage, judge: key, variant: u.variant }];
}

function criticMessages(ctx: StageContext, c: Constitution, step: number, response: string, critique?: string): ChatParams["messages"] {
  const p = principleFor(c, ctx.run.seed, ctx.unit.itemKey, step);
  const messages: ChatParams["messages"] = [{ role: "system", content: CRITIC_SYSTEM_PROMPT }, ...fewShotMessages(c)];
  messages.push({ role: "user", content: critiqueTurn(payloadOf(ctx).prompt, response, p.critique.trim()) });
  if (critique !== undefined) {
    messages.push({ role: "assistant", content: critique });
    messages.push({ role: "user", content: revisionTurn(p.revision.trim()) });
  }
  return messages;
}

export const caiKind: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      buildRequest(ctx) {
        const messages: ChatParams["messages"] = [];
        if (ctx.endpoint.systemPrompt) messages.push({ role: "system", content: ctx.endpoint.systemPrompt });
        messages.push({ role: "user", content: payloadOf(ctx).prompt });
        return { messages, max_tokens: CAI_ANSWER_MAX_TOKENS, temperature: ctx.run.temperature, seed: callSeed(ctx) };
      },
      score(_ctx, completion) {
        const answer = (answerText(completion) ?? "").trim();
        return { answer, parsed: { finishReason: completion.choices[0]?.finish_reason ?? null, empty: !answer }, score: null };
      },
      next(ctx, scored) {
        // Helpfulness samples are the helpful model's answer as is (Bai et al. 2022 §3.1); an empty answer has nothing to revise.
        if (payloadOf(ctx).helpfulness || !ctx.run.config.cai || !scored.answer) return [];
        return follow(ctx, "critique", 1);
      },
    },
    critique: {
      target: "judge",
      prepare: loadPinnedConstitution,
      buildRequest(ctx) {
        const found = constitutionOf(ctx);
        const step = stepOfCritique(ctx.unit.stage);
        // Without a constitution (a run not made by a dataset) the request still goes out, and `score` records why it is void.
        const messages = found ? criticMessages(ctx, found.c, step, ctx.parent?.answer ?? "") : [{ role: "user" as const, content: "CritiqueRequest:" }];
        return { messages, max_tokens: CAI_CRITIQUE_MAX_TOKENS, temperature: CAI_TEMPERATURE, seed: callSeed(ctx) };
      },
      score(ctx, completion): Scored {
        const found = constitutionOf(ctx);
        const step = stepOfCritique(ctx.unit.stage);
        const critique = cleanCriticText(answerText(completion), "Critique");
        const principleId = found ? principleFor(found.c, ctx.run.seed, ctx.unit.itemKey, step).id : null;
        return {
          answer: critique,
          parsed: { step, principleId, constitutionVersion: found?.c.version ?? null, response: ctx.parent?.answer ?? "", empty: !critique, void: !found },
          score: null,
        };
      },
      next(ctx, scored) {
        if (!scored.answer || scored.parsed.void) return [];
        return follow(ctx, "revision", ctx.unit.stage + 1);
      },
    },
    revision: {
      target: "judge",
      prepare: loadPinnedConstitution,
      buildRequest(ctx) {
        const found = constitutionOf(ctx);
        const step = stepOfRevision(ctx.unit.stage);
        const critiqued = String(ctx.parent?.parsed.response ?? "");
        const messages = found
          ? criticMessages(ctx, found.c, step, critiqued, ctx.parent?.answer ?? "")
          : [{ role: "user" as const, content: "RevisionRequest:" }];
        return { messages, max_tokens: CAI_ANSWER_MAX_TOKENS, temperature: CAI_TEMPERATURE, seed: callSeed(ctx) };
      },
      score(ctx, completion): Scored {
        const found = constitutionOf(ctx);
        const step = stepOfRevision(ctx.unit.stage);
        const revision = cleanCriticText(answerText(completion), "Revision");
        const principleId = found ? principleFor(found.c, ctx.run.seed, ctx.unit.itemKey, step).id : null;
        return {
          answer: revision,
          parsed: {
            step,
            principleId,
            constitutionVersion: found?.c.version ?? null,
            finishReason: completion.choices[0]?.finish_reason ?? null,
            empty: !revision,
          },
          score: null,
        };
      },
      next(ctx, scored) {
        const step = stepOfRevision(ctx.unit.stage);
        const total = ctx.run.config.cai?.revisions ?? 0;
        // The next step critiques this revision; an empty revision ends the chain (counted as dropped at export).
        if (!scored.answer || step >= total) return [];
        return follow(ctx, "critique", ctx.unit.stage + 1);
      },
    },
  },
};
