/** @module http/app: the HTTP API: one router per resource, one error shape, the OpenAPI description. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { identify } from "./auth";
import { constitutionRoutes } from "./constitutions";
import { endpointRoutes } from "./endpoints";
import { experimentRoutes } from "./experiments";
import { reportRoutes } from "./reports";
import { runRoutes } from "./runs";
import { suiteRoutes } from "./suites";

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures of any route answer in the one error shape, listing every issue.
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message, code: i.code }));
        return c.json({ error: { code: "invalid_request", message: issues.map((i) => `${i.path || "body"}: ${i.message}`).join("; "), details: { issues } } }, 400);
      }
    },
  });

  app.use("*", identify);
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route("/", endpointRoutes);
  app.route("/", suiteRoutes);
  app.route("/", runRoutes);
  app.route("/", reportRoutes);
  app.route("/", constitutionRoutes);
  app.route("/", experimentRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "projectability", version: "1" } });

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
