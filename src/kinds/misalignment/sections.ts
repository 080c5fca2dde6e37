/**
 * @module kinds/misalignment/sections: the run-report hook of the misalignment and self-report batteries: one
 * base-run lookup, then the `misalignment` section and the `selfReport` section (which reads the misaligned share
 * and the trigger effect measured in the same run, else in the endpoint's newest misalignment run).
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { EndpointRow } from "../../db/queries/endpoints";
import { getSuiteVersion } from "../../db/queries/suites";
import { runs } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { misalignmentSection } from "./report";
import { selfReportSection } from "../self-report/report";

type RunRow = typeof runs.$inferSelect;

export async function misalignmentSections(
  db: Db,
  d1: D1Database,
  run: RunRow,
  endpoint: EndpointRow,
  kinds: Set<string>,
  findBase: () => Promise<{ run: RunRow } | { none: string }>,
  explicitBase: boolean,
) {
  // Without an explicit base, "no comparable base run" is a reason in the section, not an error for the whole report.
  const base = await findBase().catch((e) => {
    if (!explicitBase && e instanceof ApiError && e.code === "incomparable") return { none: e.message };
    throw e;
  });
  const out: {
    misalignment?: Awaited<ReturnType<typeof misalignmentSection>>;
    selfReport?: Awaited<ReturnType<typeof selfReportSection>> & { behaviourMeasuredInRun: string | null };
  } = {};
  let em: Awaited<ReturnType<typeof misalignmentSection>> | null = null;
  if (kinds.has("misalignment")) {
    em = await misalignmentSection(db, d1, run, endpoint, base);
    out.misalignment = em;
  }
  if (kinds.has("self-report")) {
    // The behaviour comes from this run, else from the endpoint's newest misalignment run at the same revision.
    let measuredIn: string | null = em ? run.id : null;
    if (!em) {
      const other = await newestRunWith(db, run.endpointId, run.endpointRevision, "misalignment");
      if (other?.config.judge) {
        em = await misalignmentSection(db, d1, other, endpoint, { none: "not needed" });
        measuredIn = other.id;
      }
    }
    const first = em && "suites" in em ? (em.suites?.[0] ?? null) : null;
    const effect = first && "triggerEffect" in first && first.triggerEffect?.available ? first.triggerEffect : null;
    const measured = {
      misaligned: first ? { share: first.plain.overall.share, lo: first.plain.overall.lo, hi: first.plain.overall.hi } : null,
      triggerEffect: effect ? { diff: effect.diff, lo: effect.lo, hi: effect.hi, pValue: effect.pValue } : null,
    };
    out.selfReport = { ...(await selfReportSection(d1, run, endpoint, measured, base)), behaviourMeasuredInRun: first ? measuredIn : null };
  }
  return out;
}

/** The endpoint's newest completed (else newest live) run at `revision` that covers `kind`. */
export async function newestRunWith(db: Db, endpointId: string, revision: string, kind: string): Promise<RunRow | null> {
  const candidates = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpointId), eq(runs.endpointRevision, revision)))
    .orderBy(desc(runs.createdAt))
    .all();
  const withKind: RunRow[] = [];
  const kindOf = async (svId: string) => String(((await getSuiteVersion(db, svId))?.meta as Record<string, unknown> | undefined)?.kind);
  for (const r of candidates) {
    if (r.status === "cancelled") continue;
    for (const svId of r.suiteVersionIds) {
      if ((await kindOf(svId)) === kind) {
        withKind.push(r);
        break;
      }
    }
  }
  return withKind.find((r) => r.status === "completed") ?? withKind[0] ?? null;
}
