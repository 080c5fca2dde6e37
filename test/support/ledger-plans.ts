/**
 * Query plans of the ledger tables (`units`, `responses`), keyed by (run_id, id) with no run index since migration
 * 0012: record the SQL a code path sends to D1 (`recordingD1`), then ask SQLite's planner about each statement
 * (`ledgerScans`). A statement that scans either table reads every run's rows: harmless on a test database, minutes
 * on a million-unit one.
 */
/** A D1 binding that records the SQL of every statement it prepares. */
export function recordingD1(d1: D1Database, seen: Set<string>): D1Database {
  return new Proxy(d1, {
    get(target, prop, receiver) {
      if (prop === "prepare")
        return (sql: string) => {
          seen.add(sql);
          return target.prepare(sql);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The aliases a statement gives `units` and `responses` (and the table names themselves). */
function ledgerAliases(sql: string): Set<string> {
  const out = new Set<string>();
  for (const m of sql.matchAll(
    /\b(?:FROM|JOIN|UPDATE|INTO)\s+[`"]?(units|responses)[`"]?(?:\s+AS)?(?:\s+(?!(?:LEFT|JOIN|WHERE|ON|INNER|NOT|GROUP|ORDER|LIMIT|SET|VALUES|SELECT|DEFAULT)\b)(\w+))?/gi,
  )) {
    out.add(m[1].toLowerCase());
    if (m[2]) out.add(m[2]);
  }
  return out;
}

/** How many values a statement binds (D1 wants them all, even for EXPLAIN): the highest ?N, or the count of bare ?. */
function parameterCount(sql: string): number {
  const numbered = [...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1]));
  return numbered.length ? Math.max(...numbered) : (sql.match(/\?/g) ?? []).length;
}

/** Each recorded statement's plan line that scans `units` or `responses` (under any alias), with the statement. */
export async function ledgerScans(d1: D1Database, statements: Iterable<string>): Promise<string[]> {
  const scans: string[] = [];
  for (const sql of statements) {
    const aliases = ledgerAliases(sql);
    if (!aliases.size || !/^\s*(SELECT|WITH|UPDATE|DELETE|INSERT)/i.test(sql)) continue;
    const plan = await d1
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...Array.from({ length: parameterCount(sql) }, () => "x"))
      .all<{ detail: string }>();
    for (const { detail } of plan.results) {
      const m = /^SCAN (\w+)/.exec(detail);
      if (m && aliases.has(m[1])) scans.push(`${detail}  <=  ${sql.replace(/\s+/g, " ").slice(0, 240)}`);
    }
  }
  return scans;
}
