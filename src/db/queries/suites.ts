/** @module db/queries/suites: immutable suite versions and their items. */
import { and, desc, eq, inArray } from "drizzle-orm";
import { ApiError } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { builtinSuite } from "../../suites/builtin";
import type { SuiteDefinition, SuiteItem } from "../../suites/types";
import { chunk, insertIgnoringConflicts, type Db, runBatch } from "../client";
import { suiteItems, suites, suiteVersions } from "../schema";

/** Key order fixed so the same content always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Version id "<suite>@<12 hex of the content hash>": editing the content makes a new version. */
export async function suiteVersionId(def: SuiteDefinition): Promise<{ id: string; hash: string }> {
  const hash = await sha256Hex(canonicalJson({ kind: def.kind, meta: def.meta, items: def.items }));
  return { id: `${def.id}@${hash.slice(0, 12)}`, hash };
}

export interface StoredVersion {
  id: string;
  suiteId: string;
  kind: string;
  itemCount: number;
  meta: Record<string, unknown>;
  created: boolean;
}

/** Stores a suite version with all its items in one D1 batch (all or nothing); a no-op if it exists. */
export async function ensureSuiteVersion(db: Db, def: SuiteDefinition): Promise<StoredVersion> {
  const { id, hash } = await suiteVersionId(def);
  const existing = await db.select({ id: suiteVersions.id }).from(suiteVersions).where(eq(suiteVersions.id, id)).get();
  const stored = { id, suiteId: def.id, kind: def.kind, itemCount: def.items.length, meta: def.meta };
  if (existing) return { ...stored, created: false };
  const suiteRow = await db.select().from(suites).where(eq(suites.id, def.id)).get();
  if (suiteRow && suiteRow.kind !== def.kind) throw new ApiError("conflict", `suite ${def.id} is a ${suiteRow.kind} suite, not ${def.kind}`);
  const rows = def.items.map((it, position) => ({
    suiteVersionId: id,
    itemKey: it.key,
    position,
    dimension: it.dimension,
    keying: it.keying,
    payload: it.payload,
  }));
  await runBatch(db, [
    db.insert(suites).values({ id: def.id, kind: def.kind, title: def.title }).onConflictDoNothing(),
    db
      .insert(suiteVersions)
      .values({ id, suiteId: def.id, contentHash: hash, source: def.source, itemCount: def.items.length, meta: { ...def.meta, kind: def.kind } })
      .onConflictDoNothing(),
    ...insertIgnoringConflicts(db, suiteItems, rows),
  ]);
  return { ...stored, created: true };
}

/** The version a new run pins: the bundled content for built-ins, else the newest imported version. */
export async function currentSuiteVersion(db: Db, suiteId: string): Promise<StoredVersion> {
  const builtin = builtinSuite(suiteId);
  if (builtin) return ensureSuiteVersion(db, builtin);
  const row = await db.select().from(suiteVersions).where(eq(suiteVersions.suiteId, suiteId)).orderBy(desc(suiteVersions.createdAt)).get();
  if (!row) throw new ApiError("not_found", `suite ${suiteId} not found`);
  return {
    id: row.id,
    suiteId,
    kind: String((row.meta as Record<string, unknown>).kind),
    itemCount: row.itemCount,
    meta: row.meta as Record<string, unknown>,
    created: false,
  };
}

export async function getSuiteVersion(db: Db, versionId: string) {
  return db.select().from(suiteVersions).where(eq(suiteVersions.id, versionId)).get();
}

/** Items of a version in suite order; with `keys`, only those (queried in chunks under the parameter limit). */
export async function loadItems(db: Db, versionId: string, keys?: string[]): Promise<(SuiteItem & { position: number })[]> {
  const rows = keys
    ? (
        await Promise.all(
          chunk([...new Set(keys)], 90).map((part) =>
            db
              .select()
              .from(suiteItems)
              .where(and(eq(suiteItems.suiteVersionId, versionId), inArray(suiteItems.itemKey, part)))
              .all(),
          ),
        )
      ).flat()
    : await db.select().from(suiteItems).where(eq(suiteItems.suiteVersionId, versionId)).orderBy(suiteItems.position).all();
  return rows.map((r) => ({ key: r.itemKey, dimension: r.dimension, keying: r.keying, payload: r.payload as Record<string, unknown>, position: r.position }));
}

/** Item strata only (no payloads): what planning needs. */
export async function loadItemStrata(db: Db, versionId: string) {
  return db
    .select({ key: suiteItems.itemKey, dimension: suiteItems.dimension, keying: suiteItems.keying, position: suiteItems.position })
    .from(suiteItems)
    .where(eq(suiteItems.suiteVersionId, versionId))
    .orderBy(suiteItems.position)
    .all();
}
