/** @module db/client: drizzle over D1, plus chunking that respects D1's bound-parameter limit. */
import { getTableColumns } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

export type Db = ReturnType<typeof getDb>;

export function getDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** D1 allows at most 100 bound parameters per query (platform limits, D1). */
export const D1_MAX_BOUND_PARAMS = 100;

/**
 * Multi-row INSERT ... ON CONFLICT DO NOTHING statements, each binding at most D1_MAX_BOUND_PARAMS values.
 * drizzle binds a value for every column of the table (defaults included), so the table's width decides.
 */
export function insertIgnoringConflicts<T extends SQLiteTable>(db: Db, table: T, rows: T["$inferInsert"][]) {
  const per = Math.max(1, Math.floor(D1_MAX_BOUND_PARAMS / Object.keys(getTableColumns(table)).length));
  return chunk(rows, per).map((part) => db.insert(table).values(part).onConflictDoNothing());
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs D1 statements as one batch (a transaction); a no-op for an empty list. */
export async function runBatch(db: Db, statements: unknown[]): Promise<void> {
  if (statements.length === 0) return;
  // drizzle's batch needs a non-empty tuple of its query builders.
  await db.batch(statements as [never, ...never[]]);
}
