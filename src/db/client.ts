/** @module db/client: drizzle over D1, many-row inserts in one bound parameter, and batches of mixed statements. */
import { getTableColumns, getTableName, is, SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { groupBy } from "../lib/arrays";
import * as schema from "./schema";

export type Db = ReturnType<typeof getDb>;

export function getDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** Most bytes of row JSON one insert statement binds (ours: half of the 1 MB D1 takes per string, platform-limits guide). */
export const INSERT_JSON_MAX_BYTES = 512 * 1024;

/**
 * INSERT ... ON CONFLICT DO NOTHING statements for many rows. D1 binds at most 100 values per statement (platform
 * limits, D1), and a VALUES list binds one per column per row (5 rows of the 17-column `units` table), so the rows
 * travel as one JSON array parameter read back with `json_each` (issue 15: planning 1,000 units took 200 statements).
 * Values are converted as drizzle converts them (JSON columns, booleans); a column a row leaves out gets its SQL
 * default, so rows that leave out different columns go in separate statements.
 */
export function insertIgnoringConflicts<T extends SQLiteTable>(db: Db, table: T, rows: T["$inferInsert"][]): D1PreparedStatement[] {
  const columns = Object.entries(getTableColumns(table));
  const valueOf = (row: T["$inferInsert"], key: string) => (row as Record<string, unknown>)[key];
  const shapes = groupBy(rows, (row) => columns.map(([key]) => (valueOf(row, key) === undefined ? "0" : "1")).join(""));
  const statements: D1PreparedStatement[] = [];
  for (const group of shapes.values()) {
    const set = columns.filter(([key]) => valueOf(group[0], key) !== undefined);
    const text =
      `INSERT INTO ${quoted(getTableName(table))} (${set.map(([, column]) => quoted(column.name)).join(", ")}) ` +
      `SELECT ${set.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`;
    const encoded = group.map((row) =>
      JSON.stringify(
        set.map(([key, column]) => {
          const v = valueOf(row, key);
          // A SQL expression cannot travel as JSON (drizzle would inline it): say so rather than store its JSON.
          if (is(v, SQL)) throw new Error(`insertIgnoringConflicts: ${getTableName(table)}.${column.name} is a SQL expression; give a value`);
          return v === null ? null : column.mapToDriverValue(v);
        }),
      ),
    );
    for (const part of chunkByLength(encoded, INSERT_JSON_MAX_BYTES)) statements.push(db.$client.prepare(text).bind(`[${part.join(",")}]`));
  }
  return statements;
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Consecutive runs of strings whose lengths (plus a separator each) stay within `max`; a longer string goes alone. */
function chunkByLength(items: string[], max: number): string[][] {
  const out: string[][] = [];
  let part: string[] = [];
  let length = 0;
  for (const item of items) {
    if (part.length && length + item.length + 1 > max) {
      out.push(part);
      part = [];
      length = 0;
    }
    part.push(item);
    length += item.length + 1;
  }
  if (part.length) out.push(part);
  return out;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs statements as one D1 batch (a transaction): drizzle query builders and D1 statements (insertIgnoringConflicts)
 * alike, in order; a no-op for an empty list.
 */
export async function runBatch(db: Db, statements: unknown[]): Promise<void> {
  if (statements.length === 0) return;
  await db.$client.batch(
    statements.map((s) => {
      if (!isDrizzleQuery(s)) return s as D1PreparedStatement;
      const { sql: text, params } = s.toSQL();
      return db.$client.prepare(text).bind(...params);
    }),
  );
}

function isDrizzleQuery(s: unknown): s is { toSQL(): { sql: string; params: unknown[] } } {
  return typeof (s as { toSQL?: unknown }).toSQL === "function";
}
