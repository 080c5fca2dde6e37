/**
 * @module reports/html/docs-page: the API reference, rendered on the server from the OpenAPI description the
 * worker serves at /openapi.json (no client-side viewer, nothing fetched from a CDN).
 */
import type { Child } from "hono/jsx";
import { Page, renderHtml } from "./layout";
import { Table } from "./parts";

type Json = Record<string, any>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
/** Nesting shown inline before a schema is summarised (ours). */
const MAX_SCHEMA_DEPTH = 4;

const anchor = (s: string) => s.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
const refName = (ref: string) => ref.split("/").pop() ?? ref;

/** A short type label: "string", "integer ≥ 1", "array of Run", "enum: a | b", a link to a named schema. */
function typeLabel(s: Json | undefined): Child {
  if (!s) return "any";
  if (s.$ref) return <a href={`#schema-${anchor(refName(s.$ref))}`}>{refName(s.$ref)}</a>;
  if (s.enum) return `enum: ${s.enum.map((v: unknown) => JSON.stringify(v)).join(" | ")}`;
  if (s.const !== undefined) return `constant ${JSON.stringify(s.const)}`;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const labels = alts.map((a: Json) => typeLabel(a));
    return <>{labels.flatMap((l: Child, i: number) => (i ? [" or ", l] : [l]))}</>;
  }
  const t = Array.isArray(s.type) ? s.type.join(" or ") : s.type;
  if (t === "array") return <>array of {typeLabel(s.items)}</>;
  const bounds = [
    s.minimum != null ? `≥ ${s.minimum}` : "",
    s.maximum != null ? `≤ ${s.maximum}` : "",
    s.maxLength != null ? `max ${s.maxLength} chars` : "",
    s.format ?? "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${t ?? "object"}${bounds ? ` (${bounds})` : ""}`;
}

function SchemaView(p: { schema: Json | undefined; depth?: number }): Child {
  const s = p.schema;
  const depth = p.depth ?? 0;
  if (!s) return null;
  const target = s.type === "array" && s.items && !s.items.$ref ? s.items : s;
  const props: Record<string, Json> | undefined = target.properties;
  if (!props || depth >= MAX_SCHEMA_DEPTH || s.$ref) return <span>{typeLabel(s)}</span>;
  const required = new Set<string>(target.required ?? []);
  return (
    <>
      {s.type === "array" ? <span>array of objects:</span> : null}
      <ul>
        {Object.entries(props).map(([name, sub]) => (
          <li>
            <code>{name}</code> {required.has(name) ? <span class="pill">required</span> : null} {typeLabel(sub)}
            {sub.description ? <span class="muted"> — {sub.description}</span> : null}
            {!sub.$ref && (sub.properties || sub.items?.properties) ? <SchemaView schema={sub} depth={depth + 1} /> : null}
          </li>
        ))}
      </ul>
    </>
  );
}

function Operation(p: { path: string; method: string; op: Json }) {
  const op = p.op;
  const admin = (op.security ?? []).length > 0;
  const params: Json[] = op.parameters ?? [];
  const body = op.requestBody?.content as Record<string, Json> | undefined;
  return (
    <section id={anchor(`${p.method}-${p.path}`)} data-operation={`${p.method.toUpperCase()} ${p.path}`}>
      <h3>
        <span class="method">{p.method.toUpperCase()}</span> <code>{p.path}</code>{" "}
        {admin ? <span class="pill admin">admin key</span> : <span class="pill">public</span>}
      </h3>
      {op.summary ? <p>{op.summary}</p> : null}
      {op.description ? <p class="muted">{op.description}</p> : null}
      {params.length ? (
        <Table
          label={`Parameters of ${p.method.toUpperCase()} ${p.path}`}
          head={["Name", "In", "Required", "Type", "Description"]}
          rows={params.map((x) => [<code>{x.name}</code>, x.in, x.required ? "yes" : "no", typeLabel(x.schema), x.description ?? x.schema?.description ?? ""])}
        />
      ) : null}
      {body
        ? Object.entries(body).map(([ct, c]) => (
            <div>
              <p>
                <strong>Request body</strong> (<code>{ct}</code>){op.requestBody.required ? ", required" : ""}:
              </p>
              <SchemaView schema={c.schema} />
            </div>
          ))
        : null}
      <p>
        <strong>Responses</strong>
      </p>
      <ul>
        {Object.entries((op.responses ?? {}) as Record<string, Json>).map(([status, r]) => (
          <li>
            <code>{status}</code> {r.description}
            {r.content
              ? Object.entries(r.content as Record<string, Json>).map(([ct, c]) => (
                  <div>
                    <code>{ct}</code>: <SchemaView schema={c.schema} />
                  </div>
                ))
              : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Operations grouped by their first path segment after /v1 ("endpoints", "runs"...; pages under "pages"). */
export function groupOperations(doc: Json): Map<string, { path: string; method: string; op: Json }[]> {
  const groups = new Map<string, { path: string; method: string; op: Json }[]>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    const seg = path.startsWith("/v1/") ? path.split("/")[2] : "pages and service";
    for (const method of METHODS) {
      if (!item[method]) continue;
      if (!groups.has(seg)) groups.set(seg, []);
      groups.get(seg)!.push({ path, method, op: item[method] });
    }
  }
  return groups;
}

export function docsPage(doc: Json): string {
  const groups = groupOperations(doc);
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Record<string, Json>);
  return renderHtml(
    <Page title="API reference" description="The projectability HTTP API, from its OpenAPI description">
      <h1>API reference</h1>
      <p class="lead">
        {doc.info?.title} API version {doc.info?.version}, OpenAPI {doc.openapi}. The machine-readable description is at{" "}
        <a href="/openapi.json">/openapi.json</a>; request and response schemas there are the same ones that validate requests.
      </p>
      <p>
        Admin routes need <code>Authorization: Bearer &lt;ADMIN_API_KEY&gt;</code>. Errors have one shape:{" "}
        <code>{'{ "error": { "code", "message", "details" } }'}</code>.
      </p>
      <nav aria-label="Operations">
        <ul>
          {[...groups].map(([g, ops]) => (
            <li>
              <a href={`#group-${anchor(g)}`}>{g}</a> ({ops.length})
            </li>
          ))}
          <li>
            <a href="#schemas">Schemas</a> ({schemas.length})
          </li>
        </ul>
      </nav>
      {[...groups].map(([g, ops]) => (
        <>
          <h2 id={`group-${anchor(g)}`}>{g}</h2>
          {ops.map((o) => (
            <Operation {...o} />
          ))}
        </>
      ))}
      <h2 id="schemas">Schemas</h2>
      {schemas.map(([name, s]) => (
        <section id={`schema-${anchor(name)}`}>
          <h3>{name}</h3>
          {s.description ? <p class="muted">{s.description}</p> : null}
          <SchemaView schema={s} />
        </section>
      ))}
    </Page>,
  );
}
