/** @module lib/prices: endpoint prices (USD per million tokens) and the cost of some tokens at a price. */

export interface Price {
  /** USD per million prompt tokens; null when the endpoint declares no price. */
  input: number | null;
  /** USD per million completion tokens. */
  output: number | null;
}

/** Cost in USD of some tokens at a price; null when a needed price is missing. */
export function costOf(inputTokens: number, outputTokens: number, price: Price | null | undefined): number | null {
  if (!price) return null;
  if ((inputTokens > 0 && price.input == null) || (outputTokens > 0 && price.output == null)) return null;
  return ((price.input ?? 0) * inputTokens + (price.output ?? 0) * outputTokens) / 1_000_000;
}

/** The price of an endpoint row (null when it declares neither). */
export function priceOf(ep: { pricePerMillionInputTokens: number | null; pricePerMillionOutputTokens: number | null } | undefined | null): Price | null {
  if (!ep || (ep.pricePerMillionInputTokens == null && ep.pricePerMillionOutputTokens == null)) return null;
  return { input: ep.pricePerMillionInputTokens, output: ep.pricePerMillionOutputTokens };
}
