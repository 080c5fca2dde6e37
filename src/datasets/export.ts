/**
 * @module datasets/export: turns a finished generation run into the dataset: walks each prompt's critique/revision
 * chain, keeps the final revision (or every revision), drops and counts failed or empty ones, checks leakage and the
 * fine-tuning format, and releases the JSONL with its manifest to R2, or rejects the dataset with its reasons.
 */
import { and, eq, inArray } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { getRun } from "../db/queries/runs";
import { loadItems } from "../db/queries/suites";
import { datasets, trainingJobs } from "../db/schema";
import type { Env } from "../env";
import { sha256Hex } from "../lib/ids";
import { createRng, seedFrom } from "../stats/rng";
import { findConstitution } from "../db/queries/constitutions";
import { DEFAULT_REVISIONS } from "../kinds/cai/stages";
import { type DatasetRow, leakageReasons } from "./datasets";
import { validateChatJsonl } from "./finetune-format";
import { checkLeakage } from "./leakage";
import type { PoolPayload } from "./pool";

interface ChainRow {
  kind: string;
  itemKey: string;
  stage: number;
  status: string;
  answer: string | null;
  parsed: string | null;
}

export interface Sample {
  itemKey: string;
  category: string;
  subcategory: string;
  /** Revision step of the assistant text (0 for helpfulness answers). */
  step: number;
  /** Principle ids drawn for steps 1..step. */
  principles: string[];
  prompt: string;
  completion: string;
}

/** Why samples were dropped, counted per reason. */
export type DropCounts = Record<"askFailed" | "critiqueFailed" | "revisionFailed" | "emptyAnswer" | "emptyCritique" | "emptyRevision" | "notReached", number>;

const emptyDrops = (): DropCounts => ({
  askFailed: 0,
  critiqueFailed: 0,
  revisionFailed: 0,
  emptyAnswer: 0,
  emptyCritique: 0,
  emptyRevision: 0,
  notReached: 0,
});

/**
 * Samples from each prompt's stored chain. Final-revision mode keeps a prompt only if its last step produced a revision;
 * all-revisions mode keeps every non-empty revision. Each missing sample is counted once under the first cause found.
 */
export function buildSamples(
  items: { key: string; payload: Record<string, unknown> }[],
  rows: ChainRow[],
  revisions: number,
  allRevisions: boolean,
): { samples: Sample[]; dropped: DropCounts } {
  const byItem = new Map<string, Map<number, ChainRow>>();
  for (const r of rows) {
    if (!byItem.has(r.itemKey)) byItem.set(r.itemKey, new Map());
    byItem.get(r.itemKey)!.set(r.stage, r);
  }
  const samples: Sample[] = [];
  const dropped = emptyDrops();
  for (const it of items) {
    const p = it.payload as unknown as PoolPayload;
    const chain = byItem.get(it.key) ?? new Map<number, ChainRow>();
    const base = { itemKey: it.key, category: p.category, subcategory: p.subcategory, prompt: p.prompt };
    const ask = chain.get(0);
    if (p.helpfulness) {
      if (!ask || ask.status !== "done") dropped.askFailed++;
      else if (!ask.answer?.trim()) dropped.emptyAnswer++;
      else samples.push({ ...base, step: 0, principles: [], completion: ask.answer.trim() });
      continue;
    }
    const principles: string[] = [];
    // Each wanted step either yields a sample or is counted under the cause that stopped it.
    const wanted = allRevisions ? revisions : 1;
    let stopped: keyof DropCounts | null =
      !ask || ask.status === "failed" ? "askFailed" : ask.status !== "done" ? "notReached" : !ask.answer?.trim() ? "emptyAnswer" : null;
    const found: Sample[] = [];
    for (let k = 1; k <= revisions && !stopped; k++) {
      const critique = chain.get(2 * k - 1);
      const revision = chain.get(2 * k);
      const principle = critique?.parsed ? (JSON.parse(critique.parsed).principleId as string | null) : null;
      if (principle) principles.push(principle);
      if (!critique || critique.status === "pending") stopped = "notReached";
      else if (critique.status === "failed") stopped = "critiqueFailed";
      else if (!critique.answer?.trim()) stopped = "emptyCritique";
      else if (!revision || revision.status === "pending") stopped = "notReached";
      else if (revision.status === "failed") stopped = "revisionFailed";
      else if (!revision.answer?.trim()) stopped = "emptyRevision";
      else if (allRevisions || k === revisions) found.push({ ...base, step: k, principles: [...principles], completion: revision.answer.trim() });
    }
    samples.push(...found);
    if (stopped) dropped[stopped] += wanted - found.length;
  }
  return { samples, dropped };
}

/** One JSONL line per sample: the red-team prompt and the (final) revision, in the chat fine-tuning shape. */
export function toJsonl(samples: Sample[]): string {
  return (
    samples
      .map((s) =>
        JSON.stringify({
          messages: [
            { role: "user", content: s.prompt },
            { role: "assistant", content: s.completion },
          ],
        }),
      )
      .join("\n") + (samples.length ? "\n" : "")
  );
}

/** Seeded Fisher-Yates: categories interleave in the file, the same seed gives the same file. */
function shuffle<T>(list: T[], seed: number): T[] {
  const out = [...list];
  const rng = createRng(seedFrom(seed, "cai-export-order"));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function perCategory(samples: Sample[]) {
  const out: Record<string, { samples: number; prompts: number; subcategories: Record<string, number> }> = {};
  const prompts = new Map<string, Set<string>>();
  for (const s of samples) {
    const row = (out[s.category] ??= { samples: 0, prompts: 0, subcategories: {} });
    row.samples++;
    row.subcategories[s.subcategory] = (row.subcategories[s.subcategory] ?? 0) + 1;
    if (!prompts.has(s.category)) prompts.set(s.category, new Set());
    prompts.get(s.category)!.add(s.itemKey);
  }
  for (const [c, set] of prompts) out[c].prompts = set.size;
  return out;
}

export const exportKey = (id: string) => `datasets/${id}/train.jsonl`;
export const manifestKey = (id: string) => `datasets/${id}/manifest.json`;

/**
 * Finishes a dataset whose generation run has completed: builds the samples, checks leakage and the format, and
 * releases (R2 export + manifest) or rejects. Idempotent: a dataset that is no longer generating is returned as is.
 */
export async function finaliseDataset(env: Env, db: Db, datasetId: string): Promise<DatasetRow> {
  const ds = (await db.select().from(datasets).where(eq(datasets.id, datasetId)).get())!;
  if (ds.status !== "generating" || !ds.runId) return ds;
  const run = await getRun(db, ds.runId).catch(() => null);
  if (!run || run.status === "running") return ds;
  if (run.status === "cancelled") return settle(db, ds, { status: "rejected", reasons: ["the generation run was cancelled"] });

  const revisions = Number(ds.spec.revisions ?? DEFAULT_REVISIONS);
  const allRevisions = ds.spec.allRevisions === true;
  const items = await loadItems(db, ds.suiteVersionId!);
  const { results: rows } = await env.DB.prepare(
    `SELECT u.kind AS kind, u.item_key AS itemKey, u.stage AS stage, u.status AS status, r.answer AS answer, r.parsed AS parsed
       FROM units u LEFT JOIN responses r ON r.run_id = u.run_id AND r.unit_id = u.id WHERE u.run_id = ?1`,
  )
    .bind(run.id)
    .all<ChainRow>();
  const built = buildSamples(items, rows, revisions, allRevisions);
  const samples = shuffle(built.samples, ds.seed);
  const jsonl = toJsonl(samples);
  const report = validateChatJsonl(jsonl);
  const validation = report as unknown as Record<string, unknown>;
  const uniquePrompts = [...new Map(samples.map((s) => [s.itemKey.replace(/~r\d+$/, ""), s])).values()];
  const leakage = await checkLeakage(
    db,
    env.DB,
    uniquePrompts.map((s) => ({ key: s.itemKey.replace(/~r\d+$/, ""), category: s.category, subcategory: s.subcategory, prompt: s.prompt })),
  );
  const harmful = items.filter((i) => !(i.payload as unknown as PoolPayload).helpfulness);
  const counts = {
    prompts: harmful.length,
    helpfulnessItems: items.length - harmful.length,
    samples: samples.length,
    helpfulnessSamples: samples.filter((s) => s.step === 0).length,
    revisionsPerPrompt: revisions,
    mode: allRevisions ? "every revision step" : "final revision",
    dropped: built.dropped,
    droppedTotal: Object.values(built.dropped).reduce((a, b) => a + b, 0),
    perCategory: perCategory(samples),
  };
  const reasons = [
    ...leakageReasons(leakage),
    ...(report.valid
      ? []
      : [
          `the file breaks the fine-tuning format: ${report.problems
            .slice(0, 3)
            .map((p) => (p.line ? `line ${p.line}: ` : "") + p.message)
            .join("; ")}`,
        ]),
  ];
  const leakageRecord = { ...(ds.leakage ?? {}), release: leakage };
  if (reasons.length) return settle(db, ds, { status: "rejected", reasons, counts, leakage: leakageRecord, validation });

  const sha = await sha256Hex(jsonl);
  const constitution = await findConstitution(db, ds.constitution, ds.constitutionVersion);
  const [helpful, critic] = await Promise.all([
    getEndpoint(db, ds.helpfulEndpointId, { includeDeleted: true }),
    getEndpoint(db, ds.criticEndpointId, { includeDeleted: true }),
  ]);
  const manifest = {
    dataset: ds.id,
    format: "chat-jsonl",
    recipe: "Constitutional AI critique/revision (Bai et al. 2022, arXiv 2212.08073, §3.1)",
    constitution: { id: ds.constitution, version: ds.constitutionVersion, title: constitution?.title ?? ds.constitution },
    scope: ds.scope,
    categories: ds.categories,
    seed: ds.seed,
    revisions,
    allRevisions,
    principleDraw: "one principle per revision step, uniform over the constitution, seeded per (dataset seed, prompt, step)",
    temperature: 1,
    helpfulModel: { endpointId: helpful.id, revision: run.endpointRevision, model: helpful.model },
    critic: run.config.judge ?? { endpointId: critic.id, revision: critic.revision, model: critic.model },
    generationRun: run.id,
    suiteVersion: ds.suiteVersionId,
    defaults: {
      revisions: `${DEFAULT_REVISIONS} (Bai et al. 2022 §3.1)`,
      helpfulness: "off unless requested (ours); 2 responses per helpfulness prompt when on (Bai et al. 2022 §3.2)",
      fewShot: "two worked critique/revision examples per constitution (ours)",
    },
    counts,
    leakage: {
      passed: leakage.passed,
      exactDuplicates: leakage.exactDuplicates,
      nearDuplicates: leakage.nearDuplicates,
      heldOut: leakage.heldOut.count,
      evaluation: leakage.evaluation,
    },
    validation: { valid: report.valid, examples: report.examples, rules: report.rules },
    export: { key: exportKey(ds.id), sha256: sha, bytes: new TextEncoder().encode(jsonl).length, lines: samples.length },
    samples: samples.map((s, line) => ({
      line: line + 1,
      itemKey: s.itemKey,
      category: s.category,
      subcategory: s.subcategory,
      step: s.step,
      principles: s.principles,
    })),
    createdAt: ds.createdAt,
  };
  await env.DATASETS.put(exportKey(ds.id), jsonl, { httpMetadata: { contentType: "application/jsonl" }, customMetadata: { sha256: sha } });
  await env.DATASETS.put(manifestKey(ds.id), JSON.stringify(manifest, null, 2), { httpMetadata: { contentType: "application/json" } });
  return settle(db, ds, {
    status: "released",
    reasons: [],
    counts,
    leakage: leakageRecord,
    validation,
    exportKey: exportKey(ds.id),
    manifestKey: manifestKey(ds.id),
    exportSha256: sha,
    exportBytes: manifest.export.bytes,
  });
}

/** Stores the outcome once (only while still generating), then tells a waiting training pipeline. */
async function settle(db: Db, ds: DatasetRow, patch: Partial<typeof datasets.$inferInsert>): Promise<DatasetRow> {
  const at = new Date().toISOString();
  await db
    .update(datasets)
    .set({ ...patch, updatedAt: at, finishedAt: at })
    .where(and(eq(datasets.id, ds.id), eq(datasets.status, "generating")));
  return (await db.select().from(datasets).where(eq(datasets.id, ds.id)).get())!;
}

/** Finishes the datasets generated by these runs (the consumer calls this when runs complete; the cron sweeps). */
export async function finishDatasetsOfRuns(env: Env, db: Db, runIds: string[]): Promise<DatasetRow[]> {
  if (!runIds.length) return [];
  const rows = await db
    .select()
    .from(datasets)
    .where(and(inArray(datasets.runId, runIds), eq(datasets.status, "generating")))
    .all();
  const out: DatasetRow[] = [];
  for (const ds of rows) out.push(await finaliseDataset(env, db, ds.id));
  for (const ds of out) if (ds.status !== "generating") await notifyPipeline(env, ds);
  return out;
}

/** Wakes the training pipelines waiting for this dataset: the one that made it, and jobs that named it (they also look again on their own). */
export async function notifyPipeline(env: Env, ds: DatasetRow): Promise<void> {
  const waiting = await getDb(env.DB)
    .select({ id: trainingJobs.id })
    .from(trainingJobs)
    .where(and(eq(trainingJobs.datasetId, ds.id), inArray(trainingJobs.status, ["pending", "dataset"])))
    .all();
  for (const jobId of new Set([...(ds.trainingJobId ? [ds.trainingJobId] : []), ...waiting.map((w) => w.id)])) {
    try {
      const instance = await env.TRAINING_PIPELINE.get(jobId);
      await instance.sendEvent({ type: "dataset-finished", payload: { datasetId: ds.id, status: ds.status } });
    } catch (err) {
      console.warn(JSON.stringify({ event: "dataset.notify_failed", datasetId: ds.id, jobId, error: String(err) }));
    }
  }
}
