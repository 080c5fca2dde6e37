/**
 * A response against the schema its route declares in the OpenAPI document (the same zod schemas the handlers are
 * described by), validated with ajv: strict objects reject undeclared fields, so a response that drifts from its
 * declared shape fails the test that reads it.
 */
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { createApp, OPENAPI_CONFIG } from "../../src/http/app";

type Doc = {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
  components: { schemas: Record<string, unknown> };
};

let doc: Doc | null = null;
let ajv: Ajv2020 | null = null;
const compiled = new Map<string, ValidateFunction | null>();

function load(): { doc: Doc; ajv: Ajv2020 } {
  if (!doc || !ajv) {
    doc = createApp().getOpenAPI31Document(OPENAPI_CONFIG) as unknown as Doc;
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    // `$ref: #/components/schemas/X` resolves inside one document holding the components.
    ajv.addSchema({ $id: "openapi", components: doc.components });
  }
  return { doc, ajv };
}

/** The template of a concrete path (`/v1/runs/run_1/report` -> `/v1/runs/{id}/report`), or null. */
export function routeOf(method: string, path: string): string | null {
  const { doc } = load();
  const bare = path.split("?")[0];
  // A literal segment wins over a parameter (`/v1/runs/import` before `/v1/runs/{id}`).
  const templates = Object.entries(doc.paths).sort(([a], [b]) => a.split("{").length - b.split("{").length);
  for (const [template, item] of templates) {
    if (!item[method.toLowerCase()]) continue;
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (re.test(bare)) return template;
  }
  return null;
}

/** The JSON schema a route declares for a status (null when it declares no JSON body for it). */
function validatorFor(method: string, template: string, status: number): ValidateFunction | null {
  const key = `${method} ${template} ${status}`;
  if (!compiled.has(key)) {
    const { doc, ajv } = load();
    const schema = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)]?.content?.["application/json"]?.schema;
    const rewrite = (s: unknown): unknown => {
      if (Array.isArray(s)) return s.map(rewrite);
      if (!s || typeof s !== "object") return s;
      return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? `openapi${v}` : rewrite(v)]));
    };
    compiled.set(key, schema ? ajv.compile(rewrite(schema) as object) : null);
  }
  return compiled.get(key)!;
}

/**
 * Validation errors of a JSON response against its route's declared schema: [] when it matches, or when the route
 * declares no JSON body for that status (`declaredJson` says which).
 */
export function responseMismatches(method: string, path: string, status: number, body: unknown): string[] {
  const template = routeOf(method, path);
  if (!template) return [`${method} ${path}: no route in the OpenAPI document`];
  const validate = validatorFor(method, template, status);
  if (!validate) return [];
  if (validate(body)) return [];
  return (validate.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${method} ${path} ${status}: ${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`,
    );
}

/** Whether a route declares a JSON body for this status. */
export function declaredJson(method: string, path: string, status: number): boolean {
  const template = routeOf(method, path);
  return !!template && !!validatorFor(method, template, status);
}
