/** @module http/app: the HTTP API: one router per resource, one error shape, the OpenAPI description. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { identify } from "./auth";
import { limitBodies } from "./limits";
import { constitutionRoutes } from "./constitutions";
import { datasetRoutes } from "./datasets";
import { trainingRoutes } from "./training";
import { endpointRoutes } from "./endpoints";
import { calibrationRoutes } from "./calibration";
import { experimentRoutes } from "./experiments";
import { reportRoutes } from "./reports";
import { runRoutes } from "./runs";
import { rubricRoutes } from "./rubrics";
import { suiteRoutes } from "./suites";
import { embedRoutes } from "./embeds";
import { exportRoutes } from "./exports";
import { inspectRoutes } from "./inspect";
import { eventRoutes } from "./events";
import { tidyRoutes } from "./tidy";
import { leaderboardRoutes } from "./leaderboard";
import { pageRoutes } from "./pages";

/** The OpenAPI document's header, served at /openapi.json and rendered at /docs. */
export const OPENAPI_CONFIG = { openapi: "3.1.0", info: { title: "projectability", version: "1" } };

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  responses: { 200: { content: { "application/json": { schema: z.object({ ok: z.literal(true) }) } }, description: "The worker answers" } },
});

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures of any route answer in the one error shape, listing every issue.
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message, code: i.code }));
        return c.json(
          { error: { code: "invalid_request", message: issues.map((i) => `${i.path || "body"}: ${i.message}`).join("; "), details: { issues } } },
          400,
        );
      }
    },
  });

  app.use("*", identify);
  // Body size limits (413) before any route reads, parses or verifies a body (http/limits.ts).
  app.use("*", limitBodies);
  app.openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));
  app.route("/", endpointRoutes);
  app.route("/", suiteRoutes);
  app.route("/", runRoutes);
  app.route("/", rubricRoutes);
  app.route("/", reportRoutes);
  app.route("/", constitutionRoutes);
  app.route("/", experimentRoutes);
  app.route("/", datasetRoutes);
  app.route("/", trainingRoutes);
  app.route("/", calibrationRoutes);

  app.route("/", leaderboardRoutes);
  app.route("/", embedRoutes);
  app.route("/", exportRoutes);
  app.route("/", inspectRoutes);
  app.route("/", eventRoutes);
  app.route("/", tidyRoutes);
  app.route(
    "/",
    pageRoutes(() => app.getOpenAPI31Document(OPENAPI_CONFIG) as unknown as Record<string, unknown>),
  );

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", OPENAPI_CONFIG);

  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message, details: err.details } }, err.status);
    if (err instanceof HTTPException) {
      // hono raises these for malformed JSON bodies and the like.
      return c.json({ error: { code: "invalid_request", message: err.message || "malformed request" } }, err.status === 500 ? 400 : (err.status as 400));
    }
    console.error(JSON.stringify({ event: "http.error", path: new URL(c.req.url).pathname, error: err instanceof Error ? err.message : String(err) }));
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });
  return app;
}
