/**
 * @module kinds/types: the types of a suite kind and its stages, types only, so the kinds and the registry
 * (`suites/kinds.ts`) import them without an import loop.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { Db } from "../db/client";
import type { RunConfig } from "../db/schema";
import type { Env } from "../env";
import type { UnitIdentity } from "../lib/ids";
import type { ObservationSource } from "../metrics/types";
import type { SuiteItem } from "../suites/types";

export type ChatParams = Omit<ChatCompletionCreateParamsNonStreaming, "model">;

export interface StageContext {
  unit: {
    id: string;
    runId: string;
    kind: string;
    itemKey: string;
    sampleIndex: number;
    stage: number;
    suiteVersionId: string;
    parseRetries: number;
    variant: string;
    judge?: string | null;
  };
  item: SuiteItem;
  suiteMeta: Record<string, unknown>;
  run: { seed: number; temperature: number; scoringMode: string; config: RunConfig };
  /** The endpoint this stage calls (the model under test, or the judge); its backdoor trigger, if it declares one. */
  endpoint: { systemPrompt: string | null; trigger?: string | null; triggerFormat?: string | null };
  /** The answer this unit follows up on (judge units). */
  parent?: { answer: string | null; parsed: Record<string, unknown> };
  /** Per-sample seed sent to the model, so a sample is reproducible. */
  seed: number;
  /** What the stage's `prepare` loaded (e.g. another run's answer used as a foil). */
  extra?: Record<string, unknown>;
}

/** What `prepare` found: data for the request, or a reason to wait (the unit is handed back) or to fail. */
export type Prepared = { extra: Record<string, unknown> } | { deferMs: number; reason: string } | { fail: string };

export interface Scored {
  answer: string | null;
  parsed: Record<string, unknown>;
  score: number | null;
  /** The answer could not be parsed; a stage with `retryUnparseableOnce` asks once more before storing it. */
  unparseable?: boolean;
}

/** A unit to create when one finishes: its identity beyond the run. */
export type NextUnit = Omit<UnitIdentity, "runId">;

export interface Stage {
  target: "model" | "judge";
  /** Text-rubric judgments that cannot be parsed are asked once more, then stored as unparseable (never dropped). */
  retryUnparseableOnce?: boolean;
  /** Loads what the request needs beyond its item and parent (another run's stored answer...); may wait or fail. */
  prepare?(deps: { db: Db; env: Env }, ctx: StageContext): Promise<Prepared>;
  buildRequest(ctx: StageContext): ChatParams;
  score(ctx: StageContext, completion: ChatCompletion): Scored;
  next?(ctx: StageContext, scored: Scored): NextUnit[];
}

export interface SuiteKind {
  /** Unit kind -> stage. Every plan starts with "ask". */
  stages: Record<string, Stage>;
  /** Units per planned item-sample once every stage has run (used to check a run's setup). */
  needsJudge?: boolean;
  /** Stage-0 unit kinds planned for each item-sample (default ["ask"]), e.g. both orders of a two-option question. */
  firstUnits?(item: { key: string; dimension: string; keying: string }): string[];
  /** Samples per item and temperature a run uses when its request leaves them out. */
  defaults?: { samplesPerItem: number; temperature: number };
  /** Settings pinned on the run when it is launched (e.g. the base run whose answers serve as foils). */
  configure?(
    db: Db,
    run: { endpointId: string; samplesPerItem: number; temperature: number; itemLimit: number | null; seed: number },
    suiteVersionId: string,
  ): Promise<Partial<RunConfig>>;
  /**
   * The kind's named metrics: its stored units of a run turned into observations (src/metrics). A kind that declares
   * this needs nothing else to appear in reports, experiments, metrics, badges, gates and exports. The built-in kinds'
   * sources are listed in src/metrics/registry.ts.
   */
  observations?: ObservationSource;
}
