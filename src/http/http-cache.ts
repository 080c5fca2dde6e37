/**
 * @module http/http-cache: ETag, 304 and Cache-Control for public reads, plus the Cache API for anonymous ones.
 * The ETag is a hash of the body and If-None-Match is checked here, so 304s work where the Cache API does
 * nothing (workers.dev) and for admin reads, which never touch the shared cache.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/ids";

/** A strong ETag: the first 128 bits of the body's SHA-256. */
export async function etagOf(body: string): Promise<string> {
  return `"${(await sha256Hex(body)).slice(0, 32)}"`;
}

/** If-None-Match (a list, "*", weak or strong tags) against an ETag, by the weak comparison RFC 9110 §13.1.2 asks for. */
export function etagMatches(ifNoneMatch: string | undefined | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => t.trim() === "*" || bare(t) === bare(etag));
}

export interface Cacheable {
  body: string;
  contentType: string;
}

export interface CacheOptions {
  /** The query parameters that change the body; every other parameter is left out of the cache key (default none). */
  query?: readonly string[];
  /** What else the body depends on (a data version, the privacy view): part of the cache key. */
  version?: string;
  /** How long the Cache API keeps the entry, when that differs from the clients' max-age (versioned entries). */
  storeSeconds?: number;
}

/**
 * The Cache API key of a read: the path, the declared query parameters in a fixed order, and the version. Extra or
 * reordered parameters land on the same entry, so they cannot force a recomputation.
 */
export function normalisedCacheKey(url: string, opts: CacheOptions = {}): string {
  const u = new URL(url);
  const key = new URL(u.origin + u.pathname);
  for (const name of [...(opts.query ?? [])].sort()) {
    const values = u.searchParams.getAll(name).filter((v) => v !== "");
    if (values.length) key.searchParams.set(name, values[values.length - 1]);
  }
  if (opts.version) key.searchParams.set("__v", opts.version);
  return key.toString();
}

/**
 * Answers a GET with an ETag and Cache-Control; 304 when If-None-Match matches. Anonymous reads are public and go
 * through the Cache API (keyed by `normalisedCacheKey`) for `maxAge` seconds (`storeSeconds` for versioned entries); admin reads are private and never cached (they may
 * include private endpoints).
 */
export async function cachedResponse(
  c: Context<AppEnv>,
  build: () => Promise<Cacheable>,
  maxAge: number,
  extraHeaders: Record<string, string> = {},
  opts: CacheOptions = {},
): Promise<Response> {
  const shared = !c.get("isAdmin");
  const cache = shared && typeof caches !== "undefined" ? (caches as unknown as { default: Cache }).default : null;
  const key = new Request(normalisedCacheKey(c.req.url, opts), { method: "GET" });
  let hit: Response | undefined;
  try {
    hit = cache ? await cache.match(key) : undefined;
  } catch {
    hit = undefined;
  }
  let body: string;
  let contentType: string;
  let etag: string;
  if (hit && hit.headers.get("etag")) {
    body = await hit.text();
    contentType = hit.headers.get("content-type") ?? "application/octet-stream";
    etag = hit.headers.get("etag")!;
  } else {
    ({ body, contentType } = await build());
    etag = await etagOf(body);
    if (cache) {
      const put = cache
        .put(key, new Response(body, { headers: { "content-type": contentType, etag, "cache-control": `public, max-age=${opts.storeSeconds ?? maxAge}` } }))
        .catch(() => undefined);
      try {
        c.executionCtx.waitUntil(put);
      } catch {
        await put;
      }
    }
  }
  const headers: Record<string, string> = {
    etag,
    "cache-control": shared ? `public, max-age=${maxAge}` : "private, no-cache",
    vary: "Authorization",
    "x-cache": hit ? "hit" : "miss",
    ...extraHeaders,
  };
  if (etagMatches(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  return new Response(body, { status: 200, headers: { ...headers, "content-type": contentType } });
}
