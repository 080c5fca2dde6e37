/** @module http/suites: list suites and their versions, and import public suite files. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { getDb } from "../db/client";
import { currentSuiteVersion, ensureSuiteVersion } from "../db/queries/suites";
import { suites, suiteVersions } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { BUILTIN_SUITE_IDS } from "../suites/builtin";
import { MAX_IMPORT_BYTES, parsePersonaJsonl, resolveDimension } from "../kinds/persona/format";
import { parseHarmbenchCsv, parseMappedSafety } from "../kinds/safety/format";
import { parseMisalignmentYaml, type SkippedItem } from "../kinds/misalignment/format";
import { parseSelfAwarenessYaml } from "../kinds/self-report/format";
import { requireAdmin } from "./auth";
import { AnyObject, Bearer, errors, IdParam, json } from "./schemas";

const SuiteId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "lowercase letters, digits, '.', '_' or '-'");

const importRoute = createRoute({
  method: "post",
  path: "/v1/suites/import",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "The file is the request body. `format=persona-jsonl` takes the public persona-eval JSONL; `dimension` or the file name picks the dimension. All lines must be valid or nothing is imported. `em-yaml` (emergent-misalignment question YAML) and `self-awareness-yaml` (behavioural self-awareness question YAML) skip questions they cannot score, each with a reason (`skipped`); a file with nothing usable is a 400.",
  request: {
    query: z.object({
      suite: SuiteId.openapi({ description: "Suite name; a new content hash makes a new version" }),
      format: z.enum(["persona-jsonl", "harmbench-csv", "safety-csv", "safety-jsonl", "em-yaml", "self-awareness-yaml"]).default("persona-jsonl"),
      dimension: z.string().optional().openapi({ description: "persona-jsonl: the dimension id (else taken from the file name)" }),
      filename: z.string().max(300).optional(),
      heldOut: z.string().max(2000).optional().openapi({ description: "Safety formats: comma-separated subcategories to hold out" }),
      promptField: z.string().max(100).optional().openapi({ description: "safety-csv/jsonl: the column holding the prompt" }),
      categoryField: z.string().max(100).optional(),
      subcategoryField: z.string().max(100).optional(),
      idField: z.string().max(100).optional(),
      borderlineField: z.string().max(100).optional(),
    }),
    body: { content: { "text/plain": { schema: z.string() }, "application/x-ndjson": { schema: z.string() }, "text/csv": { schema: z.string() }, "application/yaml": { schema: z.string() } }, required: true },
  },
  responses: { 201: json(AnyObject, "New version stored"), 200: json(AnyObject, "Identical content: the existing version"), 413: errors[400], ...errors },
});

const listRoute = createRoute({ method: "get", path: "/v1/suites", responses: { 200: json(AnyObject, "Suites with their versions") } });
const readRoute = createRoute({ method: "get", path: "/v1/suites/{id}", request: { params: IdParam }, responses: { 200: json(AnyObject, "A suite and its versions"), ...errors } });

export const suiteRoutes = new OpenAPIHono<AppEnv>()
  .openapi(importRoute, async (c) => {
    const q = c.req.valid("query");
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_IMPORT_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
    const text = await c.req.text();
    if (new TextEncoder().encode(text).length > MAX_IMPORT_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
    if (BUILTIN_SUITE_IDS.includes(q.suite)) throw new ApiError("conflict", `${q.suite} is a built-in suite; import under another name`);
    const heldOut = q.heldOut ? q.heldOut.split(",").map((s) => s.trim()).filter(Boolean) : [];
    let def;
    let skipped: SkippedItem[] | undefined;
    if (q.format === "em-yaml" || q.format === "self-awareness-yaml") {
      // Questions that cannot be asked or scored are skipped with a reason; nothing usable is a 400.
      const parsed = q.format === "em-yaml" ? parseMisalignmentYaml(text, q.suite, { source: "import", filename: q.filename }) : parseSelfAwarenessYaml(text, q.suite, q.filename);
      ({ skipped, ...def } = parsed);
    } else if (q.format === "persona-jsonl") def = parsePersonaJsonl(text, q.suite, resolveDimension(q.dimension, q.filename));
    else if (q.format === "harmbench-csv") def = parseHarmbenchCsv(text, q.suite, { heldOut });
    else {
      if (!q.promptField || !q.categoryField) throw new ApiError("invalid_request", "safety-csv and safety-jsonl need promptField and categoryField");
      const map = { prompt: q.promptField, category: q.categoryField, subcategory: q.subcategoryField, id: q.idField, borderline: q.borderlineField };
      def = parseMappedSafety(text, q.format === "safety-csv" ? "csv" : "jsonl", q.suite, map, { heldOut });
    }
    const stored = await ensureSuiteVersion(getDb(c.env.DB), def);
    const body = {
      suite: stored.suiteId,
      version: stored.id,
      kind: def.kind,
      items: stored.itemCount,
      ...(def.kind === "persona"
        ? { dimension: def.items[0].dimension, canonical: def.meta.canonical }
        : skipped
          ? { questions: def.kind === "misalignment" ? def.meta.questions : (def.meta.questions as unknown[]).length, namedJudges: def.meta.namedJudges, skipped }
          : { categories: def.meta.categories, heldOut: def.meta.heldOut }),
      created: stored.created,
    };
    return stored.created ? c.json(body, 201) : c.json(body, 200);
  })
  .openapi(listRoute, async (c) => {
    const db = getDb(c.env.DB);
    for (const id of BUILTIN_SUITE_IDS) await currentSuiteVersion(db, id);
    const rows = await db.select().from(suites).all();
    const versions = await db.select().from(suiteVersions).orderBy(desc(suiteVersions.createdAt)).all();
    return c.json(
      {
        suites: rows.map((s) => ({
          ...s,
          builtin: BUILTIN_SUITE_IDS.includes(s.id),
          versions: versions.filter((v) => v.suiteId === s.id).map((v) => ({ id: v.id, items: v.itemCount, source: v.source, createdAt: v.createdAt })),
        })),
      },
      200,
    );
  })
  .openapi(readRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { id } = c.req.valid("param");
    if (BUILTIN_SUITE_IDS.includes(id)) await currentSuiteVersion(db, id);
    const suite = await db.select().from(suites).where(eq(suites.id, id)).get();
    if (!suite) throw new ApiError("not_found", `suite ${id} not found`);
    const versions = await db.select().from(suiteVersions).where(eq(suiteVersions.suiteId, id)).orderBy(desc(suiteVersions.createdAt)).all();
    return c.json({ ...suite, builtin: BUILTIN_SUITE_IDS.includes(id), versions: versions.map(({ suiteId, ...v }) => (void suiteId, v)) }, 200);
  });
