/** @module db/queries/endpoints: endpoint rows, and the public view that never carries the API key. */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { notFound } from "../../lib/errors";
import { urlOrigin } from "../../lib/url-policy";
import { chunk, type Db } from "../client";
import { endpoints } from "../schema";

export type EndpointRow = typeof endpoints.$inferSelect;

/**
 * What the API returns for an endpoint: never the key (only whether one is set); the system prompt is part of
 * every prompt sent, so only admins see it. Anonymous readers see the base URL's origin only, and no base endpoint
 * they may not see (`hides`, from reports/privacy.ts).
 */
export function publicEndpoint(row: EndpointRow, isAdmin = false, hides: (endpointId: string) => boolean = () => false) {
  const { apiKeyEnc, headersEnc, headerNames, deletedAt, systemPrompt, trigger, ...rest } = row;
  return {
    ...rest,
    // Extra headers: their names to admins, their values to no one (they are encrypted like the API key).
    headerNames: isAdmin ? headerNames : [],
    baseUrl: isAdmin ? rest.baseUrl : urlOrigin(rest.baseUrl),
    baseEndpointId: rest.baseEndpointId && !isAdmin && hides(rest.baseEndpointId) ? null : rest.baseEndpointId,
    systemPrompt: isAdmin ? systemPrompt : null,
    hasSystemPrompt: systemPrompt != null,
    trigger: isAdmin ? trigger : null,
    hasTrigger: trigger != null,
    hasApiKey: apiKeyEnc != null,
    deleted: deletedAt != null,
  };
}

export async function getEndpoint(db: Db, id: string, opts: { includeDeleted?: boolean } = {}): Promise<EndpointRow> {
  const row = await db.select().from(endpoints).where(eq(endpoints.id, id)).get();
  if (!row || (row.deletedAt && !opts.includeDeleted)) throw notFound("endpoint", id);
  return row;
}

export async function findLiveEndpointByName(db: Db, name: string) {
  return db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.name, name), isNull(endpoints.deletedAt)))
    .get();
}

export async function getEndpointsByIds(db: Db, ids: string[]): Promise<Map<string, EndpointRow>> {
  const rows = (await Promise.all(chunk([...new Set(ids)], 90).map((part) => db.select().from(endpoints).where(inArray(endpoints.id, part)).all()))).flat();
  return new Map(rows.map((r) => [r.id, r]));
}

/** Bumps "rN" revisions when the model behind the endpoint changes and no revision was given. */
export function nextRevision(current: string): string {
  const m = /^r(\d+)$/.exec(current);
  return m ? `r${Number(m[1]) + 1}` : `${current}+1`;
}
