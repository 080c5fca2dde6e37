/**
 * @module http/limits: the most bytes a request body may have (docs/api.md#size-limits). Checked from
 * Content-Length and, without one, while the body is read (hono's bodyLimit), before any parsing or signature
 * check; a larger body is a 413 in our error shape and changes nothing.
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { MAX_UPLOAD_BYTES } from "../datasets/upload";
import { MAX_CONSTITUTION_BYTES } from "../db/queries/constitutions";
import { MAX_ANSWER_IMPORT_BYTES } from "../queue/import-answers";
import { MAX_IMPORT_BYTES } from "../kinds/persona/format";

/** JSON writes (endpoints, runs, experiments, datasets, training jobs...): ours; the largest field (a system prompt) is 20,000 characters. */
export const JSON_BODY_LIMIT_BYTES = 256 * 1024;
/** Imports (routes ending in /import: suites, training pools): the importers' own file limit (kinds/persona/format.ts). */
export const IMPORT_BODY_LIMIT_BYTES = MAX_IMPORT_BYTES;
/** Signed webhooks: provider status events are a few KB (ours, as the issue asks). */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

/** Imported answers (`POST /v1/runs/import`): the importer's own limit (queue/import-answers.ts). */
export const ANSWER_IMPORT_BODY_LIMIT_BYTES = MAX_ANSWER_IMPORT_BYTES;
/**
 * Uploaded training data: the raw file (`POST /v1/datasets/upload`) may have MAX_UPLOAD_BYTES; wrapped in a JSON
 * string (`POST /v1/training-jobs` with `dataset.upload`) escaping can double it, and the route checks the file itself.
 */
export const UPLOAD_BODY_LIMIT_BYTES = MAX_UPLOAD_BYTES;
export const TRAINING_JOB_BODY_LIMIT_BYTES = 2 * MAX_UPLOAD_BYTES;
/** Custom constitutions: the loader's own limit (db/queries/constitutions.ts). */
export const CONSTITUTION_BODY_LIMIT_BYTES = MAX_CONSTITUTION_BYTES;

/** The limit of a request path. */
export function bodyLimitFor(path: string): { bytes: number; kind: string } {
  if (path.startsWith("/v1/webhooks/")) return { bytes: WEBHOOK_BODY_LIMIT_BYTES, kind: "webhooks" };
  if (path === "/v1/runs/import") return { bytes: ANSWER_IMPORT_BODY_LIMIT_BYTES, kind: "imported answers" };
  if (path === "/v1/datasets/upload") return { bytes: UPLOAD_BODY_LIMIT_BYTES, kind: "uploaded datasets" };
  if (path === "/v1/training-jobs") return { bytes: TRAINING_JOB_BODY_LIMIT_BYTES, kind: "training jobs (with an uploaded dataset)" };
  if (path === "/v1/constitutions") return { bytes: CONSTITUTION_BODY_LIMIT_BYTES, kind: "constitutions" };
  if (/\/import$/.test(path)) return { bytes: IMPORT_BODY_LIMIT_BYTES, kind: "imports" };
  return { bytes: JSON_BODY_LIMIT_BYTES, kind: "JSON writes" };
}

/** Applies the path's limit to every request that may carry a body. */
export const limitBodies = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS") return next();
  const limit = bodyLimitFor(new URL(c.req.url).pathname);
  return bodyLimit({
    maxSize: limit.bytes,
    onError: () => {
      throw new ApiError("payload_too_large", `the request body is larger than ${limit.bytes} bytes, the limit for ${limit.kind}`, { limitBytes: limit.bytes });
    },
  })(c, next);
});
