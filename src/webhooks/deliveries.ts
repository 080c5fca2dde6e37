/**
 * @module webhooks/deliveries: Standard Webhooks verification (the `standardwebhooks` package: HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>", 5-minute timestamp tolerance) and once-only processing per delivery id.
 */
import { eq } from "drizzle-orm";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { Db } from "../db/client";
import { webhookDeliveries } from "../db/schema";
import { ApiError } from "../lib/errors";

/** Oldest (and furthest in the future) a delivery's timestamp may be: the Standard Webhooks default, enforced by the package. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookSource = "training" | "rescore";

export interface VerifiedDelivery {
  /** `<source>:<webhook-id>`: the row that marks it processed. */
  deliveryId: string;
  type: string;
  data: Record<string, unknown>;
  /** Already processed: answer 200 and change nothing. */
  duplicate: boolean;
}

/**
 * Verifies a delivery's signature and timestamp against the secret, then says whether it was processed before.
 * A missing or wrong signature, or a timestamp outside the tolerance, is a 401; a body that is not an event a 400.
 */
export async function verifyDelivery(db: Db, source: WebhookSource, secret: string | undefined, body: string, headers: Headers): Promise<VerifiedDelivery> {
  if (!secret) throw new ApiError("unauthorized", `webhooks are not configured: set the ${source === "training" ? "WEBHOOK_SECRET" : "RESCORE_WEBHOOK_SECRET"} secret`);
  const h = { "webhook-id": headers.get("webhook-id") ?? "", "webhook-timestamp": headers.get("webhook-timestamp") ?? "", "webhook-signature": headers.get("webhook-signature") ?? "" };
  let payload: unknown;
  try {
    payload = new Webhook(secret).verify(body, h);
  } catch (err) {
    const why = err instanceof WebhookVerificationError ? err.message : "the body is not JSON";
    if (err instanceof WebhookVerificationError) throw new ApiError("unauthorized", `webhook rejected: ${why}`);
    throw new ApiError("invalid_request", `webhook rejected: ${why}`);
  }
  const p = payload as { type?: unknown; data?: unknown } | null;
  if (!p || typeof p !== "object" || typeof p.type !== "string" || !p.type) throw new ApiError("invalid_request", "a webhook event needs a string `type`");
  const deliveryId = `${source}:${h["webhook-id"]}`;
  const seen = await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)).get();
  return { deliveryId, type: p.type, data: p.data && typeof p.data === "object" ? (p.data as Record<string, unknown>) : {}, duplicate: !!seen };
}

/** Marks a delivery processed once its effects are stored (a crash before this lets the sender's retry redo them). */
export async function recordDelivery(db: Db, d: VerifiedDelivery, source: WebhookSource, outcome: "processed" | "ignored", subject: string | null): Promise<void> {
  await db.insert(webhookDeliveries).values({ id: d.deliveryId, source, eventType: d.type, outcome, subject }).onConflictDoNothing();
}
