/**
 * @module reports/usage: the tokens a run used and what they cost, per endpoint and role (the model under test,
 * or a judge / critic), from the usage each stored response carries and the prices pinned on the run.
 */
import type { RunConfig } from "../db/schema";
import { costOf, type Price, priceOf } from "../lib/prices";

export interface UsageRow {
  endpointId: string;
  model: string;
  /** "model": calls to the run's endpoint; "judge": judge and critic calls. */
  role: "model" | "judge";
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Calls whose provider reported no usage (their tokens are not counted). */
  callsWithoutUsage: number;
  /** USD, or null when the endpoint has no price for a kind of token it used. */
  cost: number | null;
  price: Price | null;
}

/**
 * Tokens and cost per (endpoint, model, role). Prices: the ones pinned on the run at its start, else the
 * endpoint's current ones (a judge added later by re-judging).
 */
export async function runUsage(d1: D1Database, runId: string, config?: RunConfig): Promise<UsageRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT r.endpoint_id AS endpointId, r.model AS model, CASE WHEN u.judge IS NULL THEN 'model' ELSE 'judge' END AS role, count(*) AS calls,
              coalesce(sum(r.prompt_tokens), 0) AS inputTokens, coalesce(sum(r.completion_tokens), 0) AS outputTokens,
              sum(r.prompt_tokens IS NULL AND r.completion_tokens IS NULL) AS callsWithoutUsage,
              e.price_per_million_input_tokens AS pin, e.price_per_million_output_tokens AS pout
         FROM responses r JOIN units u ON u.run_id = r.run_id AND u.id = r.unit_id LEFT JOIN endpoints e ON e.id = r.endpoint_id
        WHERE r.run_id = ?1
        GROUP BY r.endpoint_id, r.model, role
        ORDER BY role DESC, r.endpoint_id`,
    )
    .bind(runId)
    .all<Omit<UsageRow, "cost" | "price"> & { pin: number | null; pout: number | null }>();
  return results.map(({ pin, pout, ...r }) => {
    const price = config?.prices?.[r.endpointId] ?? priceOf({ pricePerMillionInputTokens: pin, pricePerMillionOutputTokens: pout });
    return { ...r, price, cost: costOf(r.inputTokens, r.outputTokens, price) };
  });
}

/** The run report's `usage` section: rows per endpoint and role, and totals (cost null when any row lacks a price). */
export async function usageSection(d1: D1Database, runId: string, config: RunConfig) {
  const rows = await runUsage(d1, runId, config);
  const sum = (f: (r: UsageRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  return {
    rows,
    total: {
      calls: sum((r) => r.calls),
      inputTokens: sum((r) => r.inputTokens),
      outputTokens: sum((r) => r.outputTokens),
      cost: rows.some((r) => r.cost == null && r.inputTokens + r.outputTokens > 0) ? null : sum((r) => r.cost ?? 0),
    },
    currency: "USD" as const,
    note: "tokens as each provider reported them (completion.usage); cost at the prices pinned when the run started",
  };
}
