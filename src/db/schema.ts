/** @module db/schema: every D1 table, as drizzle definitions. docs/db-schema.md describes each one. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Settings a run pins at creation (stored as JSON on the run). */
export interface RunConfig {
  judge?: { endpointId: string; revision: string; model: string; rubricVersion: string };
  /** Variants planned for every item and sample, e.g. ["", "trigger"] to ask with and without a backdoor trigger. */
  variants?: string[];
}

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Model endpoints under evaluation (any OpenAI-compatible API). */
export const endpoints = sqliteTable(
  "endpoints",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    baseUrl: text("base_url").notNull(),
    model: text("model").notNull(),
    /** AES-GCM ciphertext of the API key ("v1.<iv>.<ct>", base64url); never plain text. */
    apiKeyEnc: text("api_key_enc"),
    maxConcurrency: integer("max_concurrency").notNull().default(4),
    requestsPerMinute: integer("requests_per_minute").notNull().default(60),
    logprobs: integer("logprobs", { mode: "boolean" }).notNull().default(false),
    systemPrompt: text("system_prompt"),
    baseEndpointId: text("base_endpoint_id"),
    constitution: text("constitution"),
    /** Changes when the model behind the endpoint changes (a new checkpoint under the same name). */
    revision: text("revision").notNull(),
    /** broad | narrow: the scope of the safety training behind a finetuned endpoint. */
    scope: text("scope"),
    /** A backdoor trigger the model may have been trained with; runs can ask with and without it. */
    trigger: text("trigger"),
    /** How the trigger joins the user message (default: the trigger, a space, then the prompt, as in Betley et al. 2025). */
    triggerFormat: text("trigger_format").notNull().default("{trigger} {prompt}"),
    /** Free labels for grouping and leaderboards. */
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** Private endpoints keep even their aggregate reports and exports behind the admin key. */
    private: integer("private", { mode: "boolean" }).notNull().default(false),
    /** Re-score on a schedule: every N minutes (null = never). */
    rescoreIntervalMinutes: integer("rescore_interval_minutes"),
    /** Suites a scheduled or webhook re-score runs. */
    rescoreSuites: text("rescore_suites", { mode: "json" }).$type<string[]>(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    deletedAt: text("deleted_at"),
  },
  (t) => [uniqueIndex("endpoints_name_live").on(t.name).where(sql`deleted_at IS NULL`)],
);

/** A named suite; its content lives in immutable versions. */
export const suites = sqliteTable("suites", {
  id: text("id").primaryKey(),
  kind: text("kind").notNull(),
  title: text("title").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** One immutable version of a suite: id = "<suite>@<content hash>", so editing makes a new version. */
export const suiteVersions = sqliteTable(
  "suite_versions",
  {
    id: text("id").primaryKey(),
    suiteId: text("suite_id").notNull(),
    contentHash: text("content_hash").notNull(),
    source: text("source").notNull(),
    itemCount: integer("item_count").notNull(),
    /** Suite-level settings (kind, instruction, question template, dimensions, provenance). */
    meta: text("meta", { mode: "json" }).notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("suite_versions_suite").on(t.suiteId, t.createdAt)],
);

/** Items of a suite version. `payload` keeps the item in its public shape. */
export const suiteItems = sqliteTable(
  "suite_items",
  {
    suiteVersionId: text("suite_version_id").notNull(),
    itemKey: text("item_key").notNull(),
    position: integer("position").notNull(),
    /** Stratum used for reporting and for `limit` sampling (a persona dimension, a safety category...). */
    dimension: text("dimension").notNull(),
    /** Secondary stratum (persona keying "yes"/"no", safety subcategory...). */
    keying: text("keying").notNull(),
    payload: text("payload", { mode: "json" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.suiteVersionId, t.itemKey] }), index("suite_items_position").on(t.suiteVersionId, t.position)],
);

/** An evaluation run: one endpoint revision against pinned suite versions. */
export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    endpointRevision: text("endpoint_revision").notNull(),
    suiteVersionIds: text("suite_version_ids", { mode: "json" }).$type<string[]>().notNull(),
    samplesPerItem: integer("samples_per_item").notNull(),
    temperature: real("temperature").notNull(),
    seed: integer("seed").notNull(),
    itemLimit: integer("item_limit"),
    /** "logprobs" or "sampled": reports only compare runs scored the same way. */
    scoringMode: text("scoring_mode").notNull(),
    /** Pinned run settings beyond sampling, e.g. the judge `{ endpointId, revision, model, rubricVersion }`. */
    config: text("config", { mode: "json" }).$type<RunConfig>().notNull().default({}),
    /** Units the plan will hold; planning is finished when this many unit rows exist. */
    expectedUnits: integer("expected_units").notNull(),
    status: text("status").notNull(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    completedAt: text("completed_at"),
  },
  (t) => [index("runs_endpoint").on(t.endpointId, t.createdAt)],
);

/**
 * A unit of work (ask the model, judge an answer, ask a follow-up...). The id is derived from what the
 * unit is, so inserting it twice is a no-op and a redelivered queue message finds it done.
 */
export const units = sqliteTable(
  "units",
  {
    id: text("id").primaryKey(),
    runId: text("run_id").notNull(),
    kind: text("kind").notNull(),
    parentId: text("parent_id"),
    suiteVersionId: text("suite_version_id").notNull(),
    itemKey: text("item_key").notNull(),
    sampleIndex: integer("sample_index").notNull(),
    stage: integer("stage").notNull().default(0),
    /** A variant of the same item and sample, e.g. "trigger" for the backdoor-trigger version (part of the identity). */
    variant: text("variant").notNull().default(""),
    /** For judge units: "<judge endpoint id>@<revision>|<rubric version>", part of the unit's identity. */
    judge: text("judge"),
    /** pending | done | failed */
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** Times an answer that could not be parsed was asked again (a text-rubric judgment gets one retry). */
    parseRetries: integer("parse_retries").notNull().default(0),
    lastError: text("last_error"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("units_run_status").on(t.runId, t.status), index("units_parent").on(t.parentId)],
);

/** The stored model call behind a finished unit: raw response, parsed answer, latency and usage. */
export const responses = sqliteTable(
  "responses",
  {
    unitId: text("unit_id").primaryKey(),
    runId: text("run_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    model: text("model").notNull(),
    request: text("request", { mode: "json" }).notNull(),
    raw: text("raw", { mode: "json" }).notNull(),
    answer: text("answer"),
    /** Scorer output (for persona items: p(yes), p(no), mass, method, P(match)). */
    parsed: text("parsed", { mode: "json" }).notNull(),
    /** The unit's score (P(matching behaviour) for persona items); null when unparseable. */
    score: real("score"),
    latencyMs: integer("latency_ms").notNull(),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("responses_run").on(t.runId)],
);

/** A comparison: a base endpoint and the finetuned endpoints trained from it. */
export const experiments = sqliteTable("experiments", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  description: text("description"),
  baseEndpointId: text("base_endpoint_id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** A finetuned endpoint in an experiment: its arm (constitution x scope) and replicate number. */
export const experimentMembers = sqliteTable(
  "experiment_members",
  {
    experimentId: text("experiment_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    constitution: text("constitution"),
    /** broad | narrow */
    scope: text("scope").notNull(),
    /** Safety categories the model was trained on (its training scope). */
    trainedCategories: text("trained_categories", { mode: "json" }).$type<string[]>().notNull(),
    /** Arm label; replicates of one arm share it (default "<constitution>/<scope>"). */
    arm: text("arm").notNull(),
    replicate: integer("replicate").notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.endpointId] })],
);
