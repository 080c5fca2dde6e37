/**
 * @module datasets/links: expiring dataset download links for GPU providers (R2 bindings cannot presign). A link is
 * `/v1/datasets/<id>/file?expires=<unix seconds>&sig=<HMAC-SHA-256 of "<id>.<expires>">`, keyed by a key derived
 * from ENCRYPTION_KEY with HKDF (info "projectability dataset link v1"), so no extra secret is needed.
 */

/** How long a dataset link stays valid by default (ours: long enough for a provider to queue and fetch). */
export const DEFAULT_LINK_TTL_SECONDS = 24 * 60 * 60;
/** Longest validity a caller may ask for (ours: 7 days). */
export const MAX_LINK_TTL_SECONDS = 7 * 24 * 60 * 60;

const LINK_KEY_INFO = "projectability dataset link v1";
const keys = new Map<string, Promise<CryptoKey>>();

const b64url = (bytes: ArrayBuffer) => {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

function fromB64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** An HMAC key derived from the worker's ENCRYPTION_KEY (never the AES key itself). */
function linkKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: new TextEncoder().encode(LINK_KEY_INFO) },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

const message = (datasetId: string, expires: number) => new TextEncoder().encode(`${datasetId}.${expires}`);

/** A signed, expiring link to the dataset's JSONL export. */
export async function signDatasetLink(secret: string, origin: string, datasetId: string, ttlSeconds = DEFAULT_LINK_TTL_SECONDS, now = Date.now()) {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const sig = b64url(await crypto.subtle.sign("HMAC", await linkKey(secret), message(datasetId, expires)));
  const path = `/v1/datasets/${encodeURIComponent(datasetId)}/file?expires=${expires}&sig=${sig}`;
  return { url: `${origin.replace(/\/+$/, "")}${path}`, path, expiresAt: new Date(expires * 1000).toISOString() };
}

/** Why a link is refused, or null when it is valid (the HMAC comparison is constant-time: crypto.subtle.verify). */
export async function checkDatasetLink(
  secret: string,
  datasetId: string,
  expires: string | undefined,
  sig: string | undefined,
  now = Date.now(),
): Promise<string | null> {
  if (!expires || !sig || !/^\d{1,12}$/.test(expires)) return "the link is missing its expiry or signature";
  const bytes = fromB64url(sig);
  if (!bytes || !(await crypto.subtle.verify("HMAC", await linkKey(secret), bytes, message(datasetId, Number(expires)))))
    return "the link's signature does not match";
  if (Number(expires) * 1000 < now) return "the link has expired";
  return null;
}
