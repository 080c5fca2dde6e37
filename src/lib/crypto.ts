/** @module lib/crypto: AES-GCM encryption of endpoint API keys at rest, and constant-time key checks. */

const b64url = {
  encode(bytes: Uint8Array): string {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(text: string): Uint8Array {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
};

const keyCache = new Map<string, Promise<CryptoKey>>();

/** Imports the worker secret (base64 or base64url, 32 bytes) as an AES-256-GCM key. */
function importKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    const raw = b64url.decode(secret.trim());
    if (raw.length !== 32) throw new Error("ENCRYPTION_KEY must be 32 bytes, base64-encoded");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keyCache.set(secret, key);
  }
  return key;
}

/** Encrypts with a fresh 96-bit IV; output `v1.<iv>.<ciphertext+tag>`. */
export async function encryptSecret(plaintext: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await importKey(secret), new TextEncoder().encode(plaintext));
  return `v1.${b64url.encode(iv)}.${b64url.encode(new Uint8Array(ct))}`;
}

export async function decryptSecret(sealed: string, secret: string): Promise<string> {
  const [version, iv, ct] = sealed.split(".");
  if (version !== "v1" || !iv || !ct) throw new Error("unknown ciphertext format");
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: b64url.decode(iv) }, await importKey(secret), b64url.decode(ct));
  return new TextDecoder().decode(pt);
}

/** Constant-time string comparison (hash both sides first so lengths leak nothing). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [ha, hb] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}
