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
import { importConsistencyYaml } from "../kinds/consistency/format";
import { BEHAVIOURS, MEASURES, type Measure, parseLotteriesJsonl, parseSelfAwarenessYaml } from "../kinds/self-report/format";
import type { SuiteDefinition } from "../suites/types";
import { requireAdmin } from "./auth";
import { Bearer, errors, IdParam, json } from "./schemas";

/** A JSON body for self-awareness-yaml: the file plus the values its slots need (the public files hold none). */
const SelfAwarenessJson = z.object({
  file: z.string().min(1),
  slots: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.array(z.string()).min(1).max(5000)])).optional(),
  answers: z.record(z.string(), z.union([z.number().int().min(0), z.string()])).optional(),
});

/** `answers=name:index,name:index` (an index from 0, or the option's text). */
function parseAnswers(raw: string | undefined): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const part of (raw ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.lastIndexOf(":");
    if (at <= 0) throw new ApiError("invalid_request", `answers: "${part}" is not name:option`);
    const v = part.slice(at + 1).trim();
    out[part.slice(0, at).trim()] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

const SuiteId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "lowercase letters, digits, '.', '_' or '-'");

const Int = z.number().int();
const ImportHead = { suite: z.string(), version: z.string(), kind: z.string(), items: Int, created: z.boolean() };
/** What an import stored: the version, and per format what it found (dimension, sections, lotteries, questions with the skipped entries, or safety categories). */
const SuiteImported = z
  .union([
    z.strictObject({ ...ImportHead, dimension: z.string(), canonical: z.boolean() }),
    z.strictObject({ ...ImportHead, sections: z.record(z.string(), Int).openapi({ description: "Items per battery section (harm, self, description)" }) }),
    z.strictObject({ ...ImportHead, lotteries: Int }),
    z.strictObject({
      ...ImportHead,
      questions: Int,
      namedJudges: z.array(z.string()).optional().openapi({ description: "em-yaml: the judges the file names" }),
      skipped: z.array(z.strictObject({ index: Int, id: z.string().nullable(), reason: z.string() })),
    }),
    z.strictObject({
      ...ImportHead,
      categories: z.array(z.strictObject({ id: z.string(), subcategories: z.array(z.string()) })),
      heldOut: z.array(z.string()),
    }),
  ])
  .openapi("SuiteImported");

const importRoute = createRoute({
  method: "post",
  path: "/v1/suites/import",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "The file is the request body. `format=persona-jsonl` takes the public persona-eval JSONL; `dimension` or the file name picks the dimension. All lines must be valid or nothing is imported. `em-yaml` (emergent-misalignment question YAML) and `self-awareness-yaml` (behavioural self-awareness question YAML) skip questions they cannot score, each with a reason (`skipped`); a file with nothing usable is a 400. `self-awareness-yaml` may also be sent as JSON `{file, slots, answers}` to fill `{word_list}`-style slots. `consistency-yaml` takes a persona-consistency battery in the built-in file's format; `lotteries-jsonl` lottery pairs (`{prompt, risky}` or chat lines with `assistantChose`). docs/suites.md has an example of each.",
  request: {
    query: z.object({
      suite: SuiteId.openapi({ description: "Suite name; a new content hash makes a new version" }),
      format: z
        .enum(["persona-jsonl", "harmbench-csv", "safety-csv", "safety-jsonl", "em-yaml", "self-awareness-yaml", "consistency-yaml", "lotteries-jsonl"])
        .default("persona-jsonl"),
      dimension: z.string().optional().openapi({ description: "persona-jsonl: the dimension id (else taken from the file name)" }),
      filename: z.string().max(300).optional(),
      heldOut: z.string().max(2000).optional().openapi({ description: "Safety formats: comma-separated subcategories to hold out" }),
      promptField: z.string().max(100).optional().openapi({ description: "safety-csv/jsonl: the column holding the prompt" }),
      categoryField: z.string().max(100).optional(),
      subcategoryField: z.string().max(100).optional(),
      idField: z.string().max(100).optional(),
      borderlineField: z.string().max(100).optional(),
      measure: z
        .enum(MEASURES)
        .optional()
        .openapi({ description: "self-awareness-yaml: the measure of entries that neither name one nor mention one (e.g. risk for the risk files)" }),
      answers: z
        .string()
        .max(4000)
        .optional()
        .openapi({ description: "self-awareness-yaml: answer keys, `name:index,name:index` (index from 0, or the option text)" }),
      assistantChose: z.enum(["risky", "safe", "target", "other"]).optional().openapi({
        description: "lotteries-jsonl chat lines: whether the assistant's letter is the behaviour's option (risky / target) or the other one (safe / other)",
      }),
      behaviour: z.enum(BEHAVIOURS).optional().openapi({ description: "lotteries-jsonl: risk (default), myopia or apples" }),
    }),
    body: {
      content: {
        "text/plain": { schema: z.string() },
        "application/x-ndjson": { schema: z.string() },
        "text/csv": { schema: z.string() },
        "application/yaml": { schema: z.string() },
      },
      required: true,
    },
  },
  responses: { 201: json(SuiteImported, "New version stored"), 200: json(SuiteImported, "Identical content: the existing version"), ...errors },
});

const SuiteHead = { id: z.string(), kind: z.string(), title: z.string(), createdAt: z.string(), builtin: z.boolean() };
const SuiteList = z
  .strictObject({
    suites: z.array(
      z.strictObject({
        ...SuiteHead,
        versions: z.array(z.strictObject({ id: z.string(), items: z.number().int(), source: z.string(), createdAt: z.string() })),
      }),
    ),
  })
  .openapi("SuiteList");
const SuiteWithVersions = z
  .strictObject({
    ...SuiteHead,
    versions: z.array(
      z.strictObject({
        id: z.string(),
        contentHash: z.string(),
        source: z.string(),
        itemCount: z.number().int(),
        // The kind's own settings (instruction, template, dimensions, provenance): each kind's format.ts defines them.
        meta: z.record(z.string(), z.unknown()).openapi({ description: "The suite kind's settings, as its importer (src/kinds/<kind>/format.ts) wrote them" }),
        createdAt: z.string(),
      }),
    ),
  })
  .openapi("SuiteWithVersions");
const listRoute = createRoute({ method: "get", path: "/v1/suites", responses: { 200: json(SuiteList, "Suites with their versions") } });
const readRoute = createRoute({
  method: "get",
  path: "/v1/suites/{id}",
  request: { params: IdParam },
  responses: { 200: json(SuiteWithVersions, "A suite and its versions"), ...errors },
});

export const suiteRoutes = new OpenAPIHono<AppEnv>()
  .openapi(importRoute, async (c) => {
    const q = c.req.valid("query");
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_IMPORT_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
    let text = await c.req.text();
    if (new TextEncoder().encode(text).length > MAX_IMPORT_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
    if (BUILTIN_SUITE_IDS.includes(q.suite)) throw new ApiError("conflict", `${q.suite} is a built-in suite; import under another name`);
    const heldOut = q.heldOut
      ? q.heldOut
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    let def: SuiteDefinition;
    let skipped: SkippedItem[] | undefined;
    if (q.format === "em-yaml" || q.format === "self-awareness-yaml") {
      let extra: z.infer<typeof SelfAwarenessJson> | null = null;
      if (q.format === "self-awareness-yaml" && /application\/json/i.test(c.req.header("content-type") ?? "")) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new ApiError("invalid_request", "the JSON body cannot be parsed");
        }
        const r = SelfAwarenessJson.safeParse(body);
        if (!r.success)
          throw new ApiError("invalid_request", "a JSON body is {file, slots?, answers?}", {
            issues: r.error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message })),
          });
        extra = r.data;
        text = r.data.file;
      }
      // Questions that cannot be asked or scored are skipped with a reason; nothing usable is a 400.
      const parsed =
        q.format === "em-yaml"
          ? parseMisalignmentYaml(text, q.suite, { source: "import", filename: q.filename })
          : parseSelfAwarenessYaml(text, q.suite, {
              filename: q.filename,
              measure: q.measure as Measure | undefined,
              answers: { ...(extra?.answers ?? {}), ...parseAnswers(q.answers) },
              slots: extra?.slots,
            });
      ({ skipped, ...def } = parsed);
    } else if (q.format === "consistency-yaml") def = importConsistencyYaml(text, q.suite, q.filename);
    else if (q.format === "lotteries-jsonl")
      def = parseLotteriesJsonl(text, q.suite, { assistantChose: q.assistantChose, behaviour: q.behaviour, filename: q.filename });
    else if (q.format === "persona-jsonl") def = parsePersonaJsonl(text, q.suite, resolveDimension(q.dimension, q.filename));
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
      // The importers' meta is an open record (suites/types.ts); each format's fields are read as that importer writes them.
      ...(def.kind === "persona"
        ? { dimension: def.items[0].dimension, canonical: def.meta.canonical as boolean }
        : def.kind === "consistency"
          ? { sections: Object.fromEntries(["harm", "self", "description"].map((d) => [d, def.items.filter((i) => i.dimension === d).length])) }
          : q.format === "lotteries-jsonl"
            ? { lotteries: def.items.length }
            : skipped
              ? {
                  questions: def.kind === "misalignment" ? (def.meta.questions as number) : (def.meta.questions as unknown[]).length,
                  namedJudges: def.meta.namedJudges as string[] | undefined,
                  skipped,
                }
              : { categories: def.meta.categories as { id: string; subcategories: string[] }[], heldOut: def.meta.heldOut as string[] }),
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
    return c.json(
      {
        ...suite,
        builtin: BUILTIN_SUITE_IDS.includes(id),
        versions: versions.map(({ suiteId, meta, ...v }) => (void suiteId, { ...v, meta: meta as Record<string, unknown> })),
      },
      200,
    );
  });
