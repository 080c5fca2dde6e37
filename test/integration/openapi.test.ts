/** Every route the worker serves is described in its OpenAPI document, and the reference page renders it. */
import { describe, expect, it } from "vitest";
import { createApp, OPENAPI_CONFIG } from "../../src/http/app";
import { api } from "../helpers";

/** Routes that are the description itself. */
const SELF_DESCRIBING = new Set(["GET /openapi.json"]);

describe("OpenAPI description", () => {
  const app = createApp();
  const doc = app.getOpenAPI31Document(OPENAPI_CONFIG) as unknown as { paths: Record<string, Record<string, { responses?: object }>> };
  // Middleware (app.use) is registered with method ALL; handlers carry a real method.
  const routes = [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`))];

  it("describes every route the app serves, and nothing it does not serve", () => {
    expect(routes.length).toBeGreaterThan(25);
    const undescribed = routes.filter((r) => !SELF_DESCRIBING.has(r)).filter((r) => {
      const [method, path] = r.split(" ");
      return !doc.paths[path]?.[method.toLowerCase()];
    });
    expect(undescribed).toEqual([]);
    const described = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(described.filter((d) => !routes.includes(d))).toEqual([]);
    for (const d of described) {
      const [method, path] = d.split(" ");
      expect(Object.keys(doc.paths[path][method.toLowerCase()].responses ?? {}).length, d).toBeGreaterThan(0);
    }
  });

  it("is served at /openapi.json and rendered by the worker at /docs without scripts", async () => {
    const json = await api("GET", "/openapi.json", undefined, { admin: false });
    expect(json.json.openapi).toBe("3.1.0");
    expect(Object.keys(json.json.paths)).toEqual(Object.keys(doc.paths));
    const page = await api("GET", "/docs", undefined, { admin: false });
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/<script|https?:\/\/(cdn|unpkg|fonts)/i);
    for (const r of routes.filter((x) => !SELF_DESCRIBING.has(x))) expect(page.text, r).toContain(`data-operation="${r}"`);
  });
});
