/**
 * @module webhooks/deliveries: Standard Webhooks verification (the `standardwebhooks` package: HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>", 5-minute timestamp tolerance) and once-only processing per delivery id:
 * the delivery's row is inserted first (ON CONFLICT DO NOTHING) and only the copy that inserted it is processed.
 */
import { and, eq, lt } from "drizzle-orm";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { Db } from "../db/client";
import { webhookDeliveries } from "../db/schema";
import { ApiError } from "../lib/errors";

/** Oldest (and furthest in the future) a delivery's timestamp may be: the Standard Webhooks default, enforced by the package. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
/**
 * How long delivery rows are kept: a copy is accepted while its timestamp is within the tolerance on either side
 * of now, so one received up to a tolerance before its timestamp can be replayed until a tolerance after it (ours).
 */
export const DELIVERY_RETENTION_SECONDS = 2 * WEBHOOK_TOLERANCE_SECONDS;
/**
 * A delivery still "processing" after this long belongs to a worker that died mid-way (evicted, deployed over):
 * the sender's next copy takes it over (ours: a webhook's work is a few D1 writes and at most one provider call
 * of up to 60 s).
 */
export const PROCESSING_LEASE_SECONDS = 120;

export type WebhookSource = "training" | "rescore";

export interface VerifiedDelivery {
  /** `<source>:<webhook-id>`: the row that marks it processed. */
  deliveryId: string;
  type: string;
  data: Record<string, unknown>;
  /** Another copy holds or finished it: answer 200 and change nothing. */
  duplicate: boolean;
}

const SECRET_NAME: Record<WebhookSource, string> = { training: "WEBHOOK_SECRET", rescore: "RESCORE_WEBHOOK_SECRET" };

/** The verifier for a secret; a missing or malformed secret is the deployment's fault (500 webhook_misconfigured). */
function verifierFor(source: WebhookSource, secret: string | undefined): Webhook {
  if (!secret) throw new ApiError("webhook_misconfigured", `webhooks are not configured: set the ${SECRET_NAME[source]} secret`);
  try {
    return new Webhook(secret);
  } catch {
    throw new ApiError("webhook_misconfigured", `the ${SECRET_NAME[source]} secret is malformed: it must be whsec_ followed by base64`);
  }
}

/**
 * Verifies a delivery's signature and timestamp against the secret, then claims it: the first copy inserts its row
 * and is processed; a copy that finds the row is a duplicate (unless the row's claim expired unfinished).
 * A missing or wrong signature, or a timestamp outside the tolerance, is a 401; a body that is not an event a 400.
 */
export async function verifyDelivery(db: Db, source: WebhookSource, secret: string | undefined, body: string, headers: Headers): Promise<VerifiedDelivery> {
  const verifier = verifierFor(source, secret);
  const h = {
    "webhook-id": headers.get("webhook-id") ?? "",
    "webhook-timestamp": headers.get("webhook-timestamp") ?? "",
    "webhook-signature": headers.get("webhook-signature") ?? "",
  };
  let payload: unknown;
  try {
    payload = verifier.verify(body, h);
  } catch (err) {
    if (err instanceof WebhookVerificationError) throw new ApiError("unauthorized", `webhook rejected: ${err.message}`);
    throw new ApiError("invalid_request", "webhook rejected: the body is not JSON");
  }
  const p = payload as { type?: unknown; data?: unknown } | null;
  if (!p || typeof p !== "object" || typeof p.type !== "string" || !p.type) throw new ApiError("invalid_request", "a webhook event needs a string `type`");
  const deliveryId = `${source}:${h["webhook-id"]}`;
  const claimed = await claimDelivery(db, deliveryId, source, p.type);
  return { deliveryId, type: p.type, data: p.data && typeof p.data === "object" ? (p.data as Record<string, unknown>) : {}, duplicate: !claimed };
}

/** Inserts the delivery's row as "processing"; true when this copy inserted it or took over an expired claim. */
async function claimDelivery(db: Db, id: string, source: WebhookSource, eventType: string): Promise<boolean> {
  const inserted = await db.insert(webhookDeliveries).values({ id, source, eventType, outcome: "processing" }).onConflictDoNothing().run();
  if (inserted.meta.changes > 0) return true;
  const at = new Date();
  const expired = new Date(at.getTime() - PROCESSING_LEASE_SECONDS * 1000).toISOString();
  const taken = await db
    .update(webhookDeliveries)
    .set({ receivedAt: at.toISOString() })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.outcome, "processing"), lt(webhookDeliveries.receivedAt, expired)))
    .run();
  return taken.meta.changes > 0;
}

/** Marks a claimed delivery processed once its effects are stored. */
export async function recordDelivery(
  db: Db,
  d: VerifiedDelivery,
  source: WebhookSource,
  outcome: "processed" | "ignored",
  subject: string | null,
): Promise<void> {
  await db.update(webhookDeliveries).set({ source, outcome, subject }).where(eq(webhookDeliveries.id, d.deliveryId));
}

/** Gives a claimed delivery back after its processing failed, so the sender's retry redoes it. */
export async function releaseDelivery(db: Db, d: VerifiedDelivery): Promise<void> {
  await db.delete(webhookDeliveries).where(and(eq(webhookDeliveries.id, d.deliveryId), eq(webhookDeliveries.outcome, "processing")));
}

/** Deletes delivery rows older than DELIVERY_RETENTION_SECONDS (the cron): their copies are refused by timestamp anyway. */
export async function pruneDeliveries(db: Db, now: number): Promise<number> {
  const before = new Date(now - DELIVERY_RETENTION_SECONDS * 1000).toISOString();
  const res = await db.delete(webhookDeliveries).where(lt(webhookDeliveries.receivedAt, before)).run();
  return res.meta.changes;
}
