/** @module lib/ids: resource ids (random) and unit ids (derived from what the unit is). */

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 hex digest of a string. */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** `bytes` random bytes as hex. */
export function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)).buffer);
}

/** A random resource id with a readable prefix, e.g. `run_3f9c...`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomHex(12)}`;
}

/** What a unit of work is; the same parts always give the same id. */
export interface UnitIdentity {
  runId: string;
  kind: string;
  suiteVersionId: string;
  itemKey: string;
  sampleIndex: number;
  stage: number;
  /** Judge endpoint + revision and rubric version, for judge units (empty for model calls). */
  judge?: string;
  /** A variant of the item (e.g. "trigger"); empty for the plain item. */
  variant?: string;
}

/** Deterministic unit id: `u_` + 32 hex chars of SHA-256 over the unit's identity. */
export async function unitId(u: UnitIdentity): Promise<string> {
  const parts = [u.runId, u.kind, u.suiteVersionId, u.itemKey, u.sampleIndex, u.stage, u.judge ?? ""];
  // Appended only when set, so plain units keep the ids they always had.
  if (u.variant) parts.push(u.variant);
  const key = parts.join("\u001f");
  return `u_${(await sha256Hex(key)).slice(0, 32)}`;
}
