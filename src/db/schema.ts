/** @module db/schema: every D1 table, as drizzle definitions. docs/db-schema.md describes each one. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Settings a run pins at creation (stored as JSON on the run). */
export interface RunConfig {
  judge?: { endpointId: string; revision: string; model: string; rubricVersion: string };
  /** The rubrics this run's judges use, pinned with their prompt hash (`src/judges/rubrics.ts`), keyed by rubric id. */
  rubrics?: Record<string, PinnedRubric>;
  /** Variants planned for every item and sample, e.g. ["", "trigger"] to ask with and without a backdoor trigger. */
  variants?: string[];
  /** How the judge gives 0-100 scores (misalignment suites): one-token logprobs, or `samples` parsed draws per judgment. */
  judgeScoring?: { mode: "logprobs" | "sampled"; basis: "declared" | "probed" | "requested"; samples: number; probe?: string };
  /** Constitutional-AI dataset runs (suite kind `cai`): the constitution and revision steps; `judge` holds the critic. */
  cai?: { datasetId: string; constitution: string; constitutionVersion: number; revisions: number };
  /** A re-score run: what started it, and for a new checkpoint the revision it replaced. */
  rescore?: { source: "checkpoint" | "schedule"; previousRevision?: string; slot?: number };
  /** Judges added after the run started (re-judging stored answers); `judge` stays the one pinned at the start. */
  judges?: { endpointId: string; revision: string; model: string; rubricVersion: string; addedAt: string }[];
  /** Persona-consistency runs: the base run whose answers are the recognition foils, or why recognition is skipped. */
  consistency?: { baseRunId: string | null; recognition: "planned" | "skipped"; reason?: string };
  /** Prices (USD per million tokens) of the run's endpoint and judge when the run started, keyed by endpoint id. */
  prices?: Record<string, { input: number | null; output: number | null }>;
}

/** A rubric as pinned on a run: what the judge stage needs to build its prompt and parse the answer. */
export interface PinnedRubric {
  id: string;
  /** Which judge stage the rubric serves: safety, misalignment-aligned / -coherent, consistency-harm / -language. */
  target: string;
  parser: "json-verdict" | "number-0-100-logprob" | "yes-no" | "scale-1-5";
  template: string;
  /** Template slot -> what fills it (`prompt`, `response`, `question`, `answer`). */
  slots: Record<string, string>;
  thresholds: Record<string, number>;
  /** For a yes-no parser: which answer means the reply is harmful ("yes" for HarmBench's classifier). */
  harmfulAnswer?: "yes" | "no";
  promptHash: string;
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
    /** False for a record-only endpoint (no URL or key): its answers are imported, it is never called. */
    callable: integer("callable", { mode: "boolean" }).notNull().default(true),
    /** Prices in USD per million prompt / completion tokens (optional): dry-run estimates and run costs (0005). */
    pricePerMillionInputTokens: real("price_per_million_input_tokens"),
    pricePerMillionOutputTokens: real("price_per_million_output_tokens"),
    /** AES-GCM ciphertext of extra static request headers (JSON object), like the API key; never returned (0005). */
    headersEnc: text("headers_enc"),
    /** Names of those headers (the values stay encrypted), shown to admins (0005). */
    headerNames: text("header_names", { mode: "json" }).$type<string[]>().notNull().default([]),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("endpoints_name_live")
      .on(t.name)
      .where(sql`deleted_at IS NULL`),
  ],
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
    /** True when the answers were imported (`POST /v1/runs/import`) rather than asked through the gate. */
    imported: integer("imported", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    completedAt: text("completed_at"),
    /** Why the run stopped moving, when it did (e.g. its plan message reached the dead-letter queue); the cron re-plans it. */
    stallReason: text("stall_reason"),
  },
  (t) => [index("runs_endpoint").on(t.endpointId, t.createdAt)],
);

/**
 * A unit of work (ask the model, judge an answer, ask a follow-up...). The id is derived from what the
 * unit is, so inserting it twice is a no-op and a redelivered queue message finds it done.
 * A WITHOUT ROWID table keyed by (run_id, id) (migration 0012; drizzle cannot declare WITHOUT ROWID): a run's units
 * are one key range, so no index is written to find them, and every write is one D1 row. Look units up by run and id.
 */
export const units = sqliteTable(
  "units",
  {
    id: text("id").notNull(),
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
    /** The delivery that holds this pending unit's call (in flight), and until when; an expired lease is taken over. */
    leaseId: text("lease_id"),
    leaseUntil: text("lease_until"),
  },
  // units_parent is partial: first-stage units (no parent) write no entry, one D1 row less each (migration 0008).
  (t) => [
    primaryKey({ columns: [t.runId, t.id] }),
    index("units_parent")
      .on(t.parentId)
      .where(sql`${t.parentId} IS NOT NULL`),
  ],
);

/**
 * The stored model call behind a finished unit: parsed answer, score, latency and usage. A WITHOUT ROWID table keyed by
 * (run_id, unit_id) like `units` (migrations 0010 and 0012: one D1 row per response, no index); drizzle cannot declare
 * WITHOUT ROWID. The request and the raw completion live in R2 (`raw_key`, `raw_line`: src/db/raw-answers.ts); rows
 * written before migration 0009 hold them here.
 */
export const responses = sqliteTable(
  "responses",
  {
    unitId: text("unit_id").notNull(),
    runId: text("run_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    model: text("model").notNull(),
    /** Only on rows written before migration 0009; newer rows point into R2. */
    request: text("request", { mode: "json" }),
    raw: text("raw", { mode: "json" }),
    /** The R2 object (in RAW) holding this answer's request and raw completion, and its line there (0-based). */
    rawKey: text("raw_key"),
    rawLine: integer("raw_line"),
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
  (t) => [primaryKey({ columns: [t.runId, t.unitId] })],
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

/**
 * A Constitutional-AI SFT dataset: generated by a run of suite kind `cai` (answer, then critique/revision steps),
 * then checked for leakage and exported as chat fine-tuning JSONL with a manifest (R2). docs/training.md.
 */
export const datasets = sqliteTable(
  "datasets",
  {
    id: text("id").primaryKey(),
    /** generating | released | rejected */
    status: text("status").notNull(),
    /** The request as validated (constitution, scope, categories, revisions, size, seed, options). */
    spec: text("spec", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    constitution: text("constitution").notNull(),
    constitutionVersion: integer("constitution_version").notNull(),
    scope: text("scope").notNull(),
    categories: text("categories", { mode: "json" }).$type<string[]>().notNull(),
    seed: integer("seed").notNull(),
    helpfulEndpointId: text("helpful_endpoint_id").notNull(),
    criticEndpointId: text("critic_endpoint_id").notNull(),
    /** The generation suite version (the selected prompts) and the run that generates the samples. */
    suiteVersionId: text("suite_version_id"),
    runId: text("run_id"),
    /** Set when a training job created this dataset from an inline spec. */
    trainingJobId: text("training_job_id"),
    counts: text("counts", { mode: "json" }).$type<Record<string, unknown>>(),
    leakage: text("leakage", { mode: "json" }).$type<Record<string, unknown>>(),
    validation: text("validation", { mode: "json" }).$type<Record<string, unknown>>(),
    /** Why the dataset was rejected (empty when released). */
    reasons: text("reasons", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** R2 keys of the JSONL export and its manifest, with the export's SHA-256 and size. */
    exportKey: text("export_key"),
    manifestKey: text("manifest_key"),
    exportSha256: text("export_sha256"),
    exportBytes: integer("export_bytes"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    finishedAt: text("finished_at"),
  },
  (t) => [index("datasets_run").on(t.runId), index("datasets_status").on(t.status)],
);

/** A fine-tuning job on a provider, driven by the TrainingPipeline workflow (instance id = job id). */
export const trainingJobs = sqliteTable(
  "training_jobs",
  {
    id: text("id").primaryKey(),
    /** pending | dataset | submitted | running | evaluating | completed | failed | cancelled */
    status: text("status").notNull(),
    datasetId: text("dataset_id"),
    /** An inline dataset request the pipeline creates the dataset from (null when an existing dataset was named). */
    datasetSpec: text("dataset_spec", { mode: "json" }).$type<Record<string, unknown>>(),
    /** openai | generic */
    provider: text("provider").notNull(),
    providerBaseUrl: text("provider_base_url").notNull(),
    /** AES-GCM ciphertext of the provider API key (never plain text). */
    providerApiKeyEnc: text("provider_api_key_enc"),
    providerJobId: text("provider_job_id"),
    providerFileId: text("provider_file_id"),
    providerStatus: text("provider_status"),
    baseEndpointId: text("base_endpoint_id").notNull(),
    baseModel: text("base_model").notNull(),
    hyperparameters: text("hyperparameters", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** Suites and sampling for the evaluation started on the finetuned model. */
    evaluate: text("evaluate", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    endpointName: text("endpoint_name"),
    /** What the provider serves once trained: model name and the base URL it is served at. */
    fineTunedModel: text("fine_tuned_model"),
    servingBaseUrl: text("serving_base_url"),
    endpointId: text("endpoint_id"),
    evalRunId: text("eval_run_id"),
    error: text("error"),
    /** Test-only fault injection (accepted only when ALLOW_FAULT_INJECTION=1) and the crashes already injected. */
    debug: text("debug", { mode: "json" }).$type<{ crashAfter?: string[] }>(),
    crashes: text("crashes", { mode: "json" }).$type<string[]>().notNull().default([]),
    lastEventAt: text("last_event_at"),
    lastPolledAt: text("last_polled_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    completedAt: text("completed_at"),
  },
  (t) => [index("training_jobs_provider_job").on(t.provider, t.providerJobId), index("training_jobs_status").on(t.status)],
);

/** Status changes of a training job, from the webhook, the cron poll or the pipeline itself. */
export const trainingEvents = sqliteTable(
  "training_events",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id").notNull(),
    /** webhook | poll | pipeline */
    source: text("source").notNull(),
    status: text("status").notNull(),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("training_events_job").on(t.jobId, t.createdAt)],
);

/** Webhook deliveries already processed: each Standard Webhooks `webhook-id` counts once per source. */
export const webhookDeliveries = sqliteTable("webhook_deliveries", {
  /** "<source>:<webhook-id>" */
  id: text("id").primaryKey(),
  /** training | rescore */
  source: text("source").notNull(),
  eventType: text("event_type").notNull(),
  /** processed | ignored */
  outcome: text("outcome").notNull(),
  subject: text("subject"),
  receivedAt: text("received_at").notNull().default(now),
});

/** Scheduled re-scores: at most one run per (endpoint, time slot). */
export const rescores = sqliteTable(
  "rescores",
  {
    endpointId: text("endpoint_id").notNull(),
    /** floor(epoch minutes / rescoreIntervalMinutes) at the cron tick. */
    slot: integer("slot").notNull(),
    intervalMinutes: integer("interval_minutes").notNull(),
    runId: text("run_id").notNull(),
    /** Suites left out (e.g. a judged suite with no judge to reuse), with the reason. */
    skipped: text("skipped", { mode: "json" }).$type<{ suite: string; reason: string }[]>().notNull().default([]),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.endpointId, t.slot] })],
);

/** Rubrics imported as data (`POST /v1/rubrics/import`); the built-ins live in `src/judges/rubrics/`. Immutable: the id is the version. */
export const rubrics = sqliteTable("rubrics", {
  id: text("id").primaryKey(),
  parser: text("parser").notNull(),
  /** SHA-256 of the prompt template, pinned on runs that use the rubric. */
  promptHash: text("prompt_hash").notNull(),
  source: text("source").notNull(),
  /** The parsed rubric file (template, slots, parser, thresholds, source). */
  definition: text("definition", { mode: "json" }).notNull(),
  createdAt: text("created_at").notNull().default(now),
});
/** Custom constitutions added through the API (migration 0007); the built-in four stay files in constitutions/. */
export const customConstitutions = sqliteTable(
  "custom_constitutions",
  {
    id: text("id").notNull(),
    version: integer("version").notNull(),
    title: text("title").notNull(),
    /** The whole validated constitution (principles, signature, few-shot examples). */
    body: text("body", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    contentHash: text("content_hash").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.id, t.version] })],
);
