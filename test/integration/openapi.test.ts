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
  const routes = [
    ...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`)),
  ];

  it("describes every route the app serves, and nothing it does not serve", () => {
    expect(routes.length).toBeGreaterThan(25);
    const undescribed = routes
      .filter((r) => !SELF_DESCRIBING.has(r))
      .filter((r) => {
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

  /**
   * Where a schema allows undeclared fields of any shape (an object without `additionalProperties: false` whose extra
   * values are untyped). With `freeFormOnly`, only objects that declare no field at all (`AnyObject`, a bare record).
   */
  function openObjects(schema: unknown, freeFormOnly = false): string[] {
    const components = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    const out: string[] = [];
    const seen = new Set<string>();
    const walk = (s: unknown, path: string): void => {
      if (!s || typeof s !== "object") return;
      const o = s as Record<string, unknown>;
      if (typeof o.$ref === "string") {
        const name = o.$ref.split("/").pop()!;
        if (seen.has(name)) return;
        seen.add(name);
        return walk(components[name], name);
      }
      const extra = o.additionalProperties;
      const typedExtra = extra === false || (!!extra && typeof extra === "object" && Object.keys(extra).length > 0);
      const declaresNone = Object.keys((o.properties as object | undefined) ?? {}).length === 0;
      const isObject = o.type === "object" || (Array.isArray(o.type) && o.type.includes("object")) || !!o.properties;
      if (isObject && !typedExtra && (!freeFormOnly || declaresNone)) out.push(path);
      for (const [k, v] of Object.entries(o.properties ?? {})) walk(v, `${path}.${k}`);
      for (const key of ["anyOf", "oneOf", "allOf"] as const) (o[key] as unknown[] | undefined)?.forEach((v, i) => walk(v, `${path}|${i}`));
      if (o.items) walk(o.items, `${path}[]`);
      if (typedExtra && typeof extra === "object") walk(extra, `${path}{}`);
    };
    walk(schema, "");
    return out;
  }
  const reportSchema = (path: string) =>
    (doc.paths[path].get.responses as Record<string, { content: Record<string, { schema: unknown }> }>)["200"].content["application/json"].schema;

  it("types the experiment report and the run report: no free-form objects", () => {
    expect(reportSchema("/v1/experiments/{id}/report")).toEqual({ $ref: "#/components/schemas/ExperimentReport" });
    expect(openObjects(reportSchema("/v1/experiments/{id}/report"))).toEqual([]);
    for (const path of ["/v1/runs/{id}/report", "/v1/endpoints/{id}/report"]) {
      expect(reportSchema(path)).toEqual({ $ref: "#/components/schemas/RunReport" });
      expect(openObjects(reportSchema(path))).toEqual([]);
    }
    // Every section is typed in full (src/reports/schemas/run.ts).
    const components = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    for (const typed of [
      "PersonaSection",
      "PersonaComparison",
      "SafetySection",
      "JudgeComparison",
      "FixtureAgreement",
      "MisalignmentSection",
      "SelfReportSection",
      "ConsistencySection",
      "UsageSection",
      "MetricEstimate",
      "RunReportRun",
    ]) {
      expect(components[typed], typed).toBeDefined();
      expect(openObjects({ $ref: `#/components/schemas/${typed}` }), typed).toEqual([]);
    }
  });

  /** Responses (`METHOD path`) or single fields of a schema (`Schema.field`) that stay free-form, each with the reason. */
  // Not declared yet (issue 10, left for a next step; docs/api.md describes these bodies).
  const LEFT_DATASET = "not declared yet: the dataset pipeline's spec, progress, counts, leakage, validation and manifest objects (src/datasets/)";
  const LEFT_TRAINING = "not declared yet: the training pool import's answer (src/training/)";
  const OPEN_RESPONSES: Record<string, string> = {
    "GET /v1/runs/{id}/export": "an Inspect eval log: its schema is Inspect's own (validated against it in inspect-export.test.ts)",
    "SuiteWithVersions.versions[].meta": "the suite kind's own settings, as its importer (src/kinds/<kind>/format.ts) writes them; they differ per kind",
    "RawResponses.responses[].request": "the request as sent to the provider (its shape is the provider's)",
    "RawResponses.responses[].parsed": "the stage's parsed result: its fields depend on the suite kind and stage",
    "POST /v1/datasets": LEFT_DATASET,
    "GET /v1/datasets": LEFT_DATASET,
    "POST /v1/datasets/upload": LEFT_DATASET,
    "GET /v1/datasets/{id}": LEFT_DATASET,
    "GET /v1/datasets/{id}/manifest": LEFT_DATASET,
    "POST /v1/training-pools/import": LEFT_TRAINING,
    "TrainingJob.hyperparameters": "passed to the provider as given",
    "TrainingJob.evaluate": "the evaluation settings as requested",
    "TrainingJob.events[].detail": "what the webhook, the poll or the pipeline reported",
  };

  it("declares every JSON response: no free-form object (one that declares no field) outside the documented exceptions", () => {
    const open: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const route = `${method.toUpperCase()} ${path}`;
        for (const [status, res] of Object.entries((op.responses ?? {}) as Record<string, { content?: Record<string, { schema?: unknown }> }>)) {
          const schema = res.content?.["application/json"]?.schema;
          if (!schema || !status.startsWith("2") || route in OPEN_RESPONSES) continue;
          for (const p of openObjects(schema, true)) if (!(p in OPEN_RESPONSES)) open.push(`${route} ${status}: ${p || "(body)"}`);
        }
      }
    }
    expect(open).toEqual([]);
  });
});
