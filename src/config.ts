/**
 * @module config: the worker's tunable variables, parsed once per environment object (a binding set lives as long
 * as the isolate), each with its default and the rule for a bad value. Bindings and secrets stay in `env.ts`.
 */
import type { Env } from "./env";

/** Default model-call timeout (ours: long answers from slow hosted models finish well inside 30 s). */
export const DEFAULT_MODEL_TIMEOUT_MS = 30_000;
/** Default backoff base (ours); the RETRY_BASE_SECONDS var overrides it and tests set it to 0. */
export const DEFAULT_RETRY_BASE_SECONDS = 2;
/** Model calls in flight per consumer invocation (Cloudflare's limit of 6 simultaneous open connections). */
export const DEFAULT_CALLS_PER_INVOCATION = 6;
/** Seconds a recognition unit waits before looking again for the base run's answer (ours). */
export const DEFAULT_BASE_ANSWER_WAIT_SECONDS = 30;
/** Minutes without a webhook before the cron asks the provider about a training job (ours). */
export const DEFAULT_POLL_AFTER_MINUTES = 10;
/** Delay between retries of a failed pipeline step in ms (ours). */
export const DEFAULT_PIPELINE_RETRY_DELAY_MS = 10_000;

export interface Config {
  modelTimeoutMs: number;
  retryBaseSeconds: number;
  callsPerInvocation: number;
  baseAnswerWaitMs: number;
  trainingPollAfterMinutes: number;
  /** Null: each wait uses its own default (PIPELINE_WAIT_SECONDS unset or invalid). */
  pipelineWaitSeconds: number | null;
  pipelineRetryDelayMs: number;
  publicBaseUrl: string | null;
  allowFaultInjection: boolean;
}

type Vars = Partial<
  Pick<
    Env,
    | "MODEL_TIMEOUT_MS"
    | "RETRY_BASE_SECONDS"
    | "MAX_CALLS_PER_INVOCATION"
    | "BASE_ANSWER_WAIT_SECONDS"
    | "TRAINING_POLL_AFTER_MINUTES"
    | "PIPELINE_WAIT_SECONDS"
    | "PIPELINE_RETRY_DELAY_MS"
    | "PUBLIC_BASE_URL"
    | "ALLOW_FAULT_INJECTION"
  >
>;

const parsed = new WeakMap<object, Config>();

const numberOr = (raw: string | undefined, fallback: number, ok: (v: number) => boolean): number => {
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  return Number.isFinite(v) && ok(v) ? v : fallback;
};

/** The parsed configuration of this environment (cached per env object). */
export function config(env: Vars): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const wait = numberOr(env.PIPELINE_WAIT_SECONDS, NaN, (v) => v > 0);
  const c: Config = {
    modelTimeoutMs: numberOr(env.MODEL_TIMEOUT_MS, DEFAULT_MODEL_TIMEOUT_MS, (v) => v > 0),
    retryBaseSeconds: numberOr(env.RETRY_BASE_SECONDS, DEFAULT_RETRY_BASE_SECONDS, () => true),
    callsPerInvocation: numberOr(env.MAX_CALLS_PER_INVOCATION, DEFAULT_CALLS_PER_INVOCATION, (v) => Number.isInteger(v) && v > 0),
    baseAnswerWaitMs: numberOr(env.BASE_ANSWER_WAIT_SECONDS, DEFAULT_BASE_ANSWER_WAIT_SECONDS, (v) => v > 0) * 1000,
    trainingPollAfterMinutes: numberOr(env.TRAINING_POLL_AFTER_MINUTES, DEFAULT_POLL_AFTER_MINUTES, () => true),
    pipelineWaitSeconds: Number.isFinite(wait) ? wait : null,
    pipelineRetryDelayMs: numberOr(env.PIPELINE_RETRY_DELAY_MS, DEFAULT_PIPELINE_RETRY_DELAY_MS, (v) => v >= 0),
    publicBaseUrl: env.PUBLIC_BASE_URL || null,
    allowFaultInjection: env.ALLOW_FAULT_INJECTION === "1",
  };
  parsed.set(env, c);
  return c;
}
