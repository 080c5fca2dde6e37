/**
 * @module lib/url-policy: which model and provider URLs we send a bearer key to (docs/api.md#url-policy). https
 * only, except hosts on the ALLOW_HTTP_HOSTS list (local development: the simulator on 127.0.0.1); no userinfo
 * (`https://user:pass@host`) and no key-like query parameter (`?api-key=`), since URLs are shown and logged.
 */
import { ApiError } from "./errors";

/**
 * Query parameter names that carry credentials (ours: the common spellings of providers and proxies; compared
 * lowercased with `-` and `_` removed).
 */
export const KEY_LIKE_PARAMS = [
  "apikey",
  "key",
  "token",
  "accesstoken",
  "authtoken",
  "idtoken",
  "refreshtoken",
  "secret",
  "clientsecret",
  "password",
  "passwd",
  "pwd",
  "auth",
  "authorization",
  "sig",
  "signature",
  "credential",
  "credentials",
  "xapikey",
  "subscriptionkey",
  "code",
] as const;

const KEY_LIKE = new Set<string>(KEY_LIKE_PARAMS);

/** The hosts that may be reached over plain http, from ALLOW_HTTP_HOSTS ("127.0.0.1,localhost"); none when unset. */
export function allowedHttpHosts(env: { ALLOW_HTTP_HOSTS?: string }): string[] {
  return (env.ALLOW_HTTP_HOSTS ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/** Why a URL may not carry a key, or null when it may. */
export function urlPolicyViolation(raw: string, httpHosts: string[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `must be https (got ${url.protocol.replace(/:$/, "")})`;
  if (url.username || url.password) return "must not carry a user name or password (send the key as apiKey)";
  // URL.hostname keeps IPv6 brackets; the list names hosts without them.
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (url.protocol === "http:" && !httpHosts.includes(host))
    return `must be https: plain http is allowed only for ${httpHosts.length ? httpHosts.join(", ") : "no host"} (ALLOW_HTTP_HOSTS), since the API key would travel unencrypted`;
  for (const name of url.searchParams.keys()) {
    if (KEY_LIKE.has(name.toLowerCase().replace(/[-_]/g, ""))) return `must not carry a key-like query parameter (${name}); send the key as apiKey`;
  }
  return null;
}

/** The scheme and host of a URL ("" when it is not a URL). */
export function urlOrigin(raw: string): string {
  try {
    return new URL(raw).origin;
  } catch {
    return "";
  }
}

/** The host of a URL, lowercased ("" when it is not a URL). */
export function hostOf(raw: string): string {
  try {
    return new URL(raw).host.toLowerCase();
  } catch {
    return "";
  }
}

/** Throws a 400 (invalid_request, naming the field) when the URL breaks the policy. */
export function assertUrlAllowed(field: string, raw: string, env: { ALLOW_HTTP_HOSTS?: string }): void {
  const why = urlPolicyViolation(raw, allowedHttpHosts(env));
  if (why) throw new ApiError("invalid_request", `${field} ${why}`, { issues: [{ path: field, message: why, code: "url_policy" }] });
}
