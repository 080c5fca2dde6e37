/**
 * @module datasets/upload: a chat-format JSONL made elsewhere (the misalignment papers' narrow datasets, a CAI file
 * generated outside the service) stored as a released dataset, so a training job can send it to a provider. The file
 * passes the same fine-tuning format check and the same leakage check against stored evaluation suites as generated
 * datasets; a file that fails either is a 400 and nothing is stored.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { findConstitution } from "../db/queries/constitutions";
import { datasets } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { newId, sha256Hex } from "../lib/ids";
import { CONSTITUTION_ID } from "../suites/constitutions";
import { SAFETY_CATEGORIES } from "../kinds/safety/format";
import { type DatasetRow, leakageReasons } from "./datasets";
import { exportKey, manifestKey } from "./export";
import { validateChatJsonl } from "./finetune-format";
import { type Candidate, checkLeakage } from "./leakage";

/** Largest uploaded training file (ours: a worker parses it in memory; the EM papers' files are about 6 MB each). */
export const MAX_UPLOAD_BYTES = 20_000_000;
/** Category and subcategory of uploaded examples in the leakage report (they carry no safety taxonomy). */
export const UPLOAD_CATEGORY = "uploaded";

/** What the uploader may say about the file (none of it is read from the file). */
export const UploadOptions = z
  .object({
    filename: z.string().min(1).max(300).optional(),
    /** The constitution the data follows, if any (a CAI file made elsewhere); the trained endpoint declares it. */
    constitution: z.string().regex(CONSTITUTION_ID).optional(),
    scope: z.enum(["narrow", "broad"]).optional(),
    /** Safety categories the data covers: an experiment member trained on it takes them as its trained categories. */
    categories: z.array(z.enum(SAFETY_CATEGORIES)).max(SAFETY_CATEGORIES.length).optional(),
  })
  .strict();
export type UploadOptions = z.infer<typeof UploadOptions>;

/** The user turns of one example, joined: what the leakage check compares with evaluation prompts. */
function userText(line: string): string {
  const obj = JSON.parse(line) as { messages: { role: string; content: string }[] };
  return obj.messages
    .filter((m) => m.role === "user")
    .map((m) => m.content)
    .join("\n");
}

/**
 * Validates and stores an uploaded chat JSONL as a released dataset (R2: the file and a manifest). The same bytes
 * uploaded again return the stored dataset (`created: false`).
 */
export async function storeUploadedDataset(env: Env, db: Db, text: string, opts: UploadOptions): Promise<{ dataset: DatasetRow; created: boolean }> {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_UPLOAD_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_UPLOAD_BYTES} bytes`);
  const jsonl = text.endsWith("\n") ? text : `${text}\n`;
  const report = validateChatJsonl(jsonl);
  if (!report.valid)
    throw new ApiError("invalid_request", `the file breaks the fine-tuning format: ${report.problemCount} problem(s); nothing stored`, {
      problems: report.problems,
      rules: report.rules,
    });
  const constitution = opts.constitution ? await findConstitution(db, opts.constitution) : null;
  if (opts.constitution && !constitution)
    throw new ApiError("invalid_request", `constitution: no constitution ${opts.constitution} (GET /v1/constitutions lists them)`);

  const sha = await sha256Hex(jsonl);
  const same = await db
    .select()
    .from(datasets)
    .where(and(eq(datasets.exportSha256, sha), eq(datasets.status, "released")))
    .all();
  const existing = same.find((d) => d.spec.source === "upload");
  if (existing) return { dataset: existing, created: false };

  const lines = jsonl.split("\n").filter((l) => l.trim());
  const candidates: Candidate[] = lines.map((l, i) => ({ key: `line-${i + 1}`, category: UPLOAD_CATEGORY, subcategory: UPLOAD_CATEGORY, prompt: userText(l) }));
  const leakage = await checkLeakage(db, env.DB, candidates);
  const reasons = leakageReasons(leakage);
  if (reasons.length) {
    throw new ApiError("invalid_request", `the file leaks evaluation prompts: ${reasons.join("; ")}; nothing stored`, {
      reasons,
      lines: leakage.flaggedPrompts.slice(0, 100).map((f) => ({ line: Number(f.key.slice(5)), exact: f.exact, near: f.near, maxJaccard: f.maxJaccard })),
    });
  }

  const id = newId("ds");
  const at = new Date().toISOString();
  const counts = { examples: report.examples, source: "upload" };
  const manifest = {
    dataset: id,
    format: "chat-jsonl",
    recipe: "uploaded: made outside the service; checked for the fine-tuning format and for leakage, not generated",
    source: "upload",
    filename: opts.filename ?? null,
    constitution: constitution ? { id: constitution.id, version: constitution.version, title: constitution.title } : null,
    scope: opts.scope ?? null,
    categories: opts.categories ?? [],
    counts,
    leakage: { passed: leakage.passed, exactDuplicates: leakage.exactDuplicates, nearDuplicates: leakage.nearDuplicates, evaluation: leakage.evaluation },
    validation: { valid: report.valid, examples: report.examples, rules: report.rules },
    export: { key: exportKey(id), sha256: sha, bytes: new TextEncoder().encode(jsonl).length, lines: lines.length },
    createdAt: at,
  };
  await env.DATASETS.put(exportKey(id), jsonl, { httpMetadata: { contentType: "application/jsonl" }, customMetadata: { sha256: sha } });
  await env.DATASETS.put(manifestKey(id), JSON.stringify(manifest, null, 2), { httpMetadata: { contentType: "application/json" } });
  await db.insert(datasets).values({
    id,
    status: "released",
    spec: { source: "upload", ...opts },
    // Uploaded data has no generating constitution or models: empty ids, version 0 (the trained endpoint then declares none).
    constitution: constitution?.id ?? "",
    constitutionVersion: constitution?.version ?? 0,
    scope: opts.scope ?? "",
    categories: opts.categories ?? [],
    seed: 0,
    helpfulEndpointId: "",
    criticEndpointId: "",
    counts,
    leakage: { release: leakage } as unknown as Record<string, unknown>,
    validation: report as unknown as Record<string, unknown>,
    reasons: [],
    exportKey: exportKey(id),
    manifestKey: manifestKey(id),
    exportSha256: sha,
    exportBytes: manifest.export.bytes,
    finishedAt: at,
  });
  return { dataset: (await db.select().from(datasets).where(eq(datasets.id, id)).get())!, created: true };
}
