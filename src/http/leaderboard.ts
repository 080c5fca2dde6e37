/**
 * @module http/leaderboard: GET /v1/leaderboard, the public, versioned leaderboard (docs/leaderboard.md), with
 * CORS, ETag/304, Cache-Control and the Cache API.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { getDb } from "../db/client";
import { PrivacyView } from "../reports/privacy";
import type { AppEnv } from "../env";
import { buildLeaderboard, LEADERBOARD_SCHEMA, LEADERBOARD_SCHEMA_VERSION } from "../reports/leaderboard";
import { OVERVIEW_VERSIONS } from "../reports/overview";
import { METRIC_ID_PATTERN } from "../reports/metrics";
import { errors, json, metricFigureFields } from "./schemas";
import { Judge } from "../reports/schemas/common";
import { cachedResponse } from "./http-cache";

/** Seconds a leaderboard may be served from caches (ours: new runs show within a minute). */
export const LEADERBOARD_MAX_AGE_SECONDS = 60;

/** CORS for public embeds and reads: any origin, GET only; ETag readable by scripts. */
export const publicCors = cors({
  origin: "*",
  allowMethods: ["GET", "HEAD", "OPTIONS"],
  allowHeaders: ["Authorization", "If-None-Match"],
  exposeHeaders: ["ETag", "X-Cache"],
  maxAge: 86_400,
});

export const MetricId = z
  .string()
  .regex(
    METRIC_ID_PATTERN,
    "a metric id, e.g. persona.<dimension>.match, projectability.<constitution>.projection, safety.<category>.safe, safety.macro, misalignment.share, consistency.inversion_gap, self_report.<scale> (docs/reports.md#metrics)",
  )
  .openapi({ example: "safety.macro" });

const Better = z.enum(["higher", "lower"]).nullable().openapi({ description: "Which direction is better; null where neither is (persona match rates)" });

const Row = z
  .object({
    endpointId: z.string(),
    name: z.string(),
    model: z.string(),
    revision: z.string(),
    tags: z.array(z.string()),
    runId: z.string(),
    completedAt: z.string().nullable(),
    value: z.number().nullable(),
    lo: z.number().nullable().openapi({ description: "95% CI lower bound" }),
    hi: z.number().nullable().openapi({ description: "95% CI upper bound" }),
    n: z.number().int().openapi({ description: "Scored samples" }),
    clusters: z.number().int().openapi({ description: "Items or prompts behind the CI" }),
    ciMethod: z.string(),
    rank: z.number().int().nullable().openapi({ description: "1 + the number of rows with a strictly better value" }),
    rankInterval: z.object({ lo: z.number().int(), hi: z.number().int() }).nullable().openapi({ description: "95% bootstrap interval of the rank" }),
    tier: z.number().int().nullable(),
    tied: z.boolean(),
    tiedWith: z.array(z.string()).openapi({ description: "Endpoint ids whose rank intervals overlap this row's" }),
  })
  .openapi("LeaderboardRow");

const Group = z
  .object({
    key: z.string(),
    metric: z.object({ id: z.string(), label: z.string(), better: Better, order: z.enum(["descending", "ascending"]) }),
    comparability: z.object({
      suite: z.string(),
      suiteVersionId: z.string(),
      scoringMode: z.string().nullable(),
      judge: Judge.nullable(),
      temperature: z.number(),
    }),
    rows: z.array(Row),
  })
  .openapi("LeaderboardGroup");

export const LeaderboardSchema = z
  .object({
    schema: z.literal(LEADERBOARD_SCHEMA),
    schemaVersion: z.literal(LEADERBOARD_SCHEMA_VERSION),
    filters: z.object({ suite: z.string().nullable(), metric: z.string().nullable(), tag: z.string().nullable() }),
    asOf: z.string().nullable().openapi({ description: "Completion time of the newest run behind the rows" }),
    confidence: z.number(),
    rankMethod: z.object({ name: z.string(), resamples: z.number().int(), seed: z.string(), description: z.string() }),
    tieRule: z.string(),
    overview: z
      .object({
        models: z.array(z.object({ endpointId: z.string(), name: z.string() })),
        metrics: z
          .array(
            z.object({
              id: z
                .string()
                .openapi({ description: "The column: the metric id when the metric has one column, else the metric id and what the column holds fixed" }),
              metric: z.string(),
              label: z.string(),
              kind: z.string(),
              better: Better,
              comparability: z.object({
                suites: z.array(z.string()),
                suiteVersionIds: z.array(z.string()),
                judge: z.string().nullable(),
                scoringMode: z.string().nullable(),
                temperature: z.number(),
              }),
            }),
          )
          .openapi({
            description: "The columns: one per metric and comparability (suite versions, judge key of judged kinds, scoring mode of the others, temperature)",
          }),
        cells: z.array(
          z.object({
            endpointId: z.string(),
            metric: z.string(),
            column: z.string(),
            ...metricFigureFields,
            tieGroup: z.number().int().nullable(),
          }),
        ),
        suiteVersions: z.enum(OVERVIEW_VERSIONS),
        tieRule: z.string(),
        note: z.string(),
      })
      .nullable()
      .openapi({ description: "Models x headline metrics of every kind with 95% CIs and tie groups; null when a suite or metric filter is set" }),
    groups: z.array(Group),
  })
  .openapi("Leaderboard");

export const LeaderboardQuery = z.object({
  suite: z.string().min(1).max(200).optional().openapi({ description: "Suite name, e.g. safety or persona-diagnostic" }),
  metric: MetricId.optional(),
  tag: z.string().trim().min(1).max(50).optional().openapi({ description: "Only endpoints with this tag" }),
  overviewVersions: z
    .enum(OVERVIEW_VERSIONS)
    .optional()
    .openapi({ description: "The overview's suite versions: latest (default), the newest version of each suite; all, every version in its own column" }),
});

const leaderboardRoute = createRoute({
  method: "get",
  path: "/v1/leaderboard",
  summary: "The leaderboard",
  description:
    "Rows per endpoint and metric from each endpoint's newest completed run at its current revision, grouped by suite version, scoring mode, judge and rubric version, and temperature. Public endpoints only, unless called with the admin key. Cached for LEADERBOARD_MAX_AGE_SECONDS; answers 304 to a matching If-None-Match.",
  request: { query: LeaderboardQuery },
  responses: {
    200: json(LeaderboardSchema, "The leaderboard (schemaVersion 1)"),
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    ...errors,
  },
});

export const leaderboardRoutes = new OpenAPIHono<AppEnv>();
leaderboardRoutes.use("/v1/leaderboard", publicCors);
leaderboardRoutes.openapi(leaderboardRoute, async (c) => {
  const filters = c.req.valid("query");
  return cachedResponse(
    c,
    async () => ({
      body: JSON.stringify(await buildLeaderboard(getDb(c.env.DB), c.env.DB, filters, { includePrivate: c.get("isAdmin") })),
      contentType: "application/json; charset=utf-8",
    }),
    LEADERBOARD_MAX_AGE_SECONDS,
    {},
    // Only the filters change the body; the privacy view is in the key, so a switch to private takes effect at once.
    { query: Object.keys(LeaderboardQuery.shape), version: (await PrivacyView.of(getDb(c.env.DB), c.get("isAdmin"))).key },
  ) as never;
});
