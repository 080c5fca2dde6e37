/**
 * @module http/report-cache: run and experiment report bodies are cached per (report, data version, privacy view,
 * normalised query), so anonymous traffic cannot force their bootstraps to be recomputed (docs/reports.md#caching).
 * The data version is a hash of everything a report reads that can change: the endpoints' rows, their runs' rows
 * (status, completion, last change) and, for runs still open, the count, status tally and newest change of their
 * units. A finished run's units change only after it is reopened (resume, re-judge), which changes its row, so
 * finished runs cost no unit reads. Reading it is one batch of three queries; the report costs bootstraps over
 * every sample.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/ids";
import type { PrivacyView } from "../reports/privacy";
import { type CacheOptions, cachedResponse, normalisedCacheKey } from "./http-cache";

/** Clients revalidate reports at once (they change while runs progress); the ETag makes that a 304. */
export const REPORT_CLIENT_MAX_AGE_SECONDS = 0;
/** How long the Cache API keeps a versioned report (ours: a new version is a new key, so this only bounds storage). */
export const REPORT_STORE_SECONDS = 24 * 3600;

/**
 * A version of the data behind reports that involve these endpoints (the report's own, its base and, for
 * experiments, the members), plus any runs named explicitly (`?base=`).
 */
export async function dataVersion(d1: D1Database, endpointIds: (string | null | undefined)[], extraRunIds: string[] = []): Promise<string> {
  const eps = [...new Set(endpointIds.filter((e): e is string => !!e))];
  const runIdsSql = `SELECT id FROM runs WHERE endpoint_id IN (SELECT value FROM json_each(?1)) UNION SELECT value FROM json_each(?2)`;
  const [endpointRows, runRows, unitStamp] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `SELECT id, updated_at, private, base_endpoint_id, revision, deleted_at FROM endpoints WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
      )
      .bind(JSON.stringify(eps)),
    d1
      .prepare(`SELECT id, status, completed_at, updated_at FROM runs WHERE id IN (${runIdsSql}) ORDER BY id`)
      .bind(JSON.stringify(eps), JSON.stringify(extraRunIds)),
    // Units of finished runs do not change until the run is reopened (resume, re-judge), which changes its row.
    d1
      .prepare(
        `SELECT count(*) AS n, sum(status = 'done') AS done, sum(status = 'failed') AS failed, max(updated_at) AS at FROM units WHERE run_id IN (SELECT id FROM runs WHERE id IN (${runIdsSql}) AND status NOT IN ('completed', 'cancelled'))`,
      )
      .bind(JSON.stringify(eps), JSON.stringify(extraRunIds)),
  ]);
  return (await sha256Hex(JSON.stringify([endpointRows.results, runRows.results, unitStamp.results]))).slice(0, 32);
}

/**
 * Answers a report GET from the cache when its version is unchanged: anonymous reads share the Cache API entry of
 * (path, declared query, version, privacy view); admin reads are built fresh (http-cache.ts).
 */
export async function cachedReport(
  c: Context<AppEnv>,
  view: PrivacyView,
  version: string,
  query: readonly string[],
  build: () => Promise<unknown>,
  asText?: (body: unknown) => string,
): Promise<Response> {
  const opts: CacheOptions = { query, version: `${version}.${view.key}`, storeSeconds: REPORT_STORE_SECONDS };
  return cachedResponse(
    c,
    async () => {
      const body = await build();
      return asText
        ? { body: asText(body), contentType: "text/plain; charset=utf-8" }
        : { body: JSON.stringify(body), contentType: "application/json; charset=utf-8" };
    },
    REPORT_CLIENT_MAX_AGE_SECONDS,
    {},
    opts,
  );
}

/**
 * A page body (HTML) built from reports, cached like the reports themselves for anonymous readers; admins get a
 * fresh build. The page's own headers (no-cache, CSP) are set by its route.
 */
export async function cachedPage(
  c: Context<AppEnv>,
  view: PrivacyView,
  version: string,
  query: readonly string[],
  build: () => Promise<string>,
): Promise<string> {
  const cache = !c.get("isAdmin") && typeof caches !== "undefined" ? (caches as unknown as { default: Cache }).default : null;
  if (!cache) return build();
  const key = new Request(normalisedCacheKey(c.req.url, { query, version: `${version}.${view.key}` }), { method: "GET" });
  const hit = await cache.match(key).catch(() => undefined);
  if (hit) return hit.text();
  const body = await build();
  const put = cache
    .put(key, new Response(body, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": `public, max-age=${REPORT_STORE_SECONDS}` } }))
    .catch(() => undefined);
  try {
    c.executionCtx.waitUntil(put);
  } catch {
    await put;
  }
  return body;
}
