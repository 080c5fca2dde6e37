/**
 * @module kinds/misalignment/run-options: run options of the misalignment and self-report batteries: asking with and
 * without the endpoint's backdoor trigger, and how the judge gives 0-100 scores (declared, probed or requested).
 */
import { getEndpoint, type EndpointRow } from "../../db/queries/endpoints";
import type { Db } from "../../db/client";
import type { RunConfig } from "../../db/schema";
import type { Env } from "../../env";
import { decryptSecret } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { probeSingleTokenNumbers } from "../../judges/number-probe";
import { JUDGE_PARSE_SAMPLES } from "../../judges/number-score";
import { TRIGGER_VARIANT } from "./format";
import { decryptHeaders } from "../../providers/headers";

export interface MisalignmentRunOptions {
  /** Ask every item with and without the endpoint's trigger (variants "" and "trigger"). */
  triggerVariants?: boolean;
  /** "auto" (default): logprobs when the judge declares them (endpoint `logprobs`) or passes the probe, else sampled. */
  judgeScoring?: "auto" | "logprobs" | "sampled";
  /** Draws per judgment in sampled mode (default JUDGE_PARSE_SAMPLES). */
  judgeSamples?: number;
}

/** Settings these options pin on the run (merged into its config before the plan is counted). */
export async function misalignmentRunConfig(
  db: Db,
  env: Env | undefined,
  body: MisalignmentRunOptions,
  endpoint: EndpointRow,
  kinds: string[],
  config: RunConfig,
): Promise<Partial<RunConfig>> {
  const out: Partial<RunConfig> = {};
  if (body.triggerVariants) {
    if (!endpoint.trigger)
      throw new ApiError(
        "invalid_request",
        `endpoint ${endpoint.id} declares no trigger; set one (PATCH /v1/endpoints/{id} { trigger }) before asking for triggerVariants`,
      );
    out.variants = ["", TRIGGER_VARIANT];
  }
  if (!kinds.includes("misalignment") || !config.judge) return out;
  const samples = body.judgeSamples ?? JUDGE_PARSE_SAMPLES;
  const mode = body.judgeScoring ?? "auto";
  if (mode === "logprobs") out.judgeScoring = { mode: "logprobs", basis: "requested", samples: 1 };
  else if (mode === "sampled") out.judgeScoring = { mode: "sampled", basis: "requested", samples };
  else {
    const judge = await getEndpoint(db, config.judge.endpointId);
    if (judge.logprobs) out.judgeScoring = { mode: "logprobs", basis: "declared", samples: 1 };
    else if (!env) out.judgeScoring = { mode: "sampled", basis: "probed", samples, probe: "not probed: no worker environment" };
    else {
      const apiKey = judge.apiKeyEnc ? await decryptSecret(judge.apiKeyEnc, env.ENCRYPTION_KEY) : "none";
      const probe = await probeSingleTokenNumbers({
        baseUrl: judge.baseUrl,
        model: judge.model,
        apiKey,
        headers: await decryptHeaders(judge.headersEnc, env.ENCRYPTION_KEY),
      });
      out.judgeScoring = probe.singleTokenNumbers
        ? { mode: "logprobs", basis: "probed", samples: 1, probe: probe.reason }
        : { mode: "sampled", basis: "probed", samples, probe: probe.reason };
    }
  }
  return out;
}
