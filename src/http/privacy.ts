/**
 * @module http/privacy: private endpoints. Without the admin key, a private endpoint, its runs, reports, pages,
 * badges and exports answer 404 as if they did not exist (so their existence is not revealed either).
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { type EndpointRow, getEndpoint } from "../db/queries/endpoints";
import { getRun, type RunRow } from "../db/queries/runs";
import { endpoints, experimentMembers, experiments } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";

/** The endpoint, if the caller may see it (deleted ones only with `includeDeleted`). */
export async function visibleEndpoint(c: Context<AppEnv>, db: Db, id: string, opts: { includeDeleted?: boolean } = {}): Promise<EndpointRow> {
  const endpoint = await getEndpoint(db, id, opts);
  if (endpoint.private && !c.get("isAdmin")) throw notFound("endpoint", id);
  return endpoint;
}

/** The run and its endpoint, if the caller may see the endpoint (a deleted endpoint's runs stay readable). */
export async function visibleRun(c: Context<AppEnv>, db: Db, runId: string): Promise<{ run: RunRow; endpoint: EndpointRow }> {
  const run = await getRun(db, runId);
  const endpoint = await getEndpoint(db, run.endpointId, { includeDeleted: true });
  if (endpoint.private && !c.get("isAdmin")) throw notFound("run", runId);
  return { run, endpoint };
}

/** An experiment with a private model (its base or a member) is private as a whole. */
export async function assertExperimentVisible(c: Context<AppEnv>, db: Db, experimentId: string): Promise<void> {
  if (c.get("isAdmin")) return;
  const exp = await db.select({ base: experiments.baseEndpointId }).from(experiments).where(eq(experiments.id, experimentId)).get();
  if (!exp) throw notFound("experiment", experimentId);
  const members = await db.select({ id: experimentMembers.endpointId }).from(experimentMembers).where(eq(experimentMembers.experimentId, experimentId)).all();
  const ids = [exp.base, ...members.map((m) => m.id)];
  const hidden = await db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(and(inArray(endpoints.id, ids), eq(endpoints.private, true)))
    .get();
  if (hidden) throw notFound("experiment", experimentId);
}
