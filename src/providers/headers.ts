/**
 * @module providers/headers: an endpoint's extra static request headers (e.g. Cloudflare Access service-token
 * headers for a model behind a Tunnel). They are stored encrypted like API keys and sent on every call.
 */
import { decryptSecret, encryptSecret } from "../lib/crypto";

/** Most extra headers an endpoint may carry (ours). */
export const MAX_EXTRA_HEADERS = 20;
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
/**
 * Headers the worker sets itself: the API key goes in `apiKey` (Authorization), the model call (providers/openai.ts)
 * and the runtime own the rest, and X-Client-Request-Id traces each unit.
 */
export const RESERVED_HEADERS = new Set([
  "authorization",
  "host",
  "content-type",
  "content-length",
  "connection",
  "transfer-encoding",
  "x-client-request-id",
  "accept-encoding",
  "cookie",
]);

export async function encryptHeaders(headers: Record<string, string>, secret: string): Promise<string> {
  return encryptSecret(JSON.stringify(headers), secret);
}

const cache = new Map<string, Promise<Record<string, string>>>();

/** The decrypted headers (undefined when there are none); memoised per ciphertext, since every call needs them. */
export async function decryptHeaders(sealed: string | null | undefined, secret: string): Promise<Record<string, string> | undefined> {
  if (!sealed) return undefined;
  let p = cache.get(sealed);
  if (!p) {
    if (cache.size > 256) cache.clear();
    p = decryptSecret(sealed, secret).then((t) => JSON.parse(t) as Record<string, string>);
    cache.set(sealed, p);
  }
  return p;
}
