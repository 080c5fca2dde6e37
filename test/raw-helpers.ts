import { env } from "cloudflare:workers";
import { rawReader } from "../src/db/raw-answers";

/** Columns a test selects (from `responses r`) to read an answer's raw side back from R2. */
export const RAW_REF_COLUMNS = "r.unit_id AS unitId, r.raw_key AS rawKey, r.raw_line AS rawLine";

/**
 * The rows with the request and raw completion each points at in R2 (parsed). Throws when a row points at a
 * missing object or line: that would be a lost answer.
 */
export async function withRawSide<T extends { unitId: string; rawKey: string | null; rawLine: number | null }>(
  rows: T[],
): Promise<(T & { request: any; raw: any })[]> {
  const reader = rawReader(env.RAW);
  return Promise.all(
    rows.map(async (r) => {
      if (r.rawKey == null || r.rawLine == null) throw new Error(`response ${r.unitId} has no raw reference`);
      const line = await reader.line({ rawKey: r.rawKey, rawLine: r.rawLine, unitId: r.unitId });
      if (!line) throw new Error(`response ${r.unitId} points at ${r.rawKey}#${r.rawLine}, which is missing`);
      return { ...r, request: line.request as any, raw: line.raw as any };
    }),
  );
}
