/** @module queue/backoff: exponential backoff with jitter that honours Retry-After. */

/** Longest delay we ask of the queue (Queues accept hours; ours: 15 min keeps runs moving). */
export const MAX_RETRY_DELAY_SECONDS = 900;

/**
 * Delay before attempt `attempts + 1`: base * 2^(attempts-1), "equal jitter" (half fixed, half random), never
 * shorter than the server's Retry-After.
 */
export function retryDelaySeconds(attempts: number, baseSeconds: number, retryAfterSeconds: number | null, random = Math.random): number {
  const exp = Math.min(MAX_RETRY_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
  const jittered = exp / 2 + (random() * exp) / 2;
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(Math.max(jittered, retryAfterSeconds ?? 0)));
}
