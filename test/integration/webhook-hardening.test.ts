/**
 * Webhooks under stress: simultaneous copies of one delivery are processed once; bodies over the limit are refused
 * (413) before verification; a missing or malformed secret is a 500 with its own code; old delivery rows are pruned
 * by the cron; provider error text is stored with keys redacted. Plus the size limit of plain JSON writes.
 */
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../src/cron";
import { getDb } from "../../src/db/client";
import { trainingJobs } from "../../src/db/schema";
import { encryptSecret } from "../../src/lib/crypto";
import { ApiError } from "../../src/lib/errors";
import { JSON_BODY_LIMIT_BYTES, WEBHOOK_BODY_LIMIT_BYTES } from "../../src/http/limits";
import { failJob, recordProviderStatus } from "../../src/training/jobs";
import { DELIVERY_RETENTION_SECONDS, PROCESSING_LEASE_SECONDS, verifyDelivery } from "../../src/webhooks/deliveries";
import { ADMIN, api, registerSim, uniqueTag } from "../helpers";
import { signed } from "../training-helpers";

const rows = async (id: string) => (await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").bind(id).all<any>()).results;

describe("webhook deliveries", () => {
  it("processes one of several simultaneous copies of a delivery; the others are duplicates", async () => {
    const id = `msg_${uniqueTag()}`;
    const body = JSON.stringify({ type: "fine_tuning.job.succeeded", data: { id: "ftjob-not-ours" } });
    const headers = signed(env.WEBHOOK_SECRET!, body, { id });
    const answers = await Promise.all(Array.from({ length: 6 }, () => api("POST", "/v1/webhooks/training", body, { admin: false, headers })));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    expect(answers.filter((a) => a.json.duplicate === false)).toHaveLength(1);
    const stored = await rows(`training:${id}`);
    expect(stored).toHaveLength(1);
    expect(stored[0].outcome).toBe("ignored");
  });

  it("gives a delivery back when its processing fails, so the sender's retry is processed", async () => {
    const id = `msg_${uniqueTag()}`;
    const body = JSON.stringify({ type: "rescore.checkpoint", data: { endpointId: 42 } });
    const first = await api("POST", "/v1/webhooks/rescore", body, { admin: false, headers: signed(env.RESCORE_WEBHOOK_SECRET!, body, { id }) });
    expect(first.status).toBe(400);
    expect(await rows(`rescore:${id}`)).toHaveLength(0);
    const retry = await api("POST", "/v1/webhooks/rescore", body, { admin: false, headers: signed(env.RESCORE_WEBHOOK_SECRET!, body, { id }) });
    expect(retry.status, "a retry is processed again, not answered as a duplicate").toBe(400);
  });

  it("a copy takes over a claim left unfinished past the lease (its worker died), not a live one", async () => {
    const body = JSON.stringify({ type: "fine_tuning.job.succeeded", data: { id: "ftjob-not-ours" } });
    const stale = `msg_${uniqueTag("stale")}`;
    const live = `msg_${uniqueTag("live")}`;
    const at = (ms: number) => new Date(Date.now() - ms).toISOString();
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, source, event_type, outcome, received_at) VALUES (?1, 'training', 't', 'processing', ?2), (?3, 'training', 't', 'processing', ?4)",
    )
      .bind(`training:${stale}`, at((PROCESSING_LEASE_SECONDS + 30) * 1000), `training:${live}`, at(5_000))
      .run();
    const taken = await api("POST", "/v1/webhooks/training", body, { admin: false, headers: signed(env.WEBHOOK_SECRET!, body, { id: stale }) });
    expect(taken.json).toEqual({ received: true, duplicate: false, outcome: "ignored" });
    expect((await rows(`training:${stale}`))[0].outcome).toBe("ignored");
    const held = await api("POST", "/v1/webhooks/training", body, { admin: false, headers: signed(env.WEBHOOK_SECRET!, body, { id: live }) });
    expect(held.json).toEqual({ received: true, duplicate: true });
    expect((await rows(`training:${live}`))[0].outcome).toBe("processing");
  });

  it("refuses a body over 1 MiB with 413 before verifying it, from Content-Length and from a stream", async () => {
    const big = JSON.stringify({ type: "fine_tuning.job.succeeded", data: { id: "x", pad: "a".repeat(WEBHOOK_BODY_LIMIT_BYTES) } });
    // Unsigned: a 413, not a 401, shows the size was checked first.
    const sized = await api("POST", "/v1/webhooks/training", big, { admin: false, headers: { "content-type": "application/json" } });
    expect(sized.status).toBe(413);
    expect(sized.json.error.code).toBe("payload_too_large");
    const chunks = [new TextEncoder().encode(big.slice(0, 600_000)), new TextEncoder().encode(big.slice(600_000))];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await exports.default.fetch("http://worker/v1/webhooks/training", {
      method: "POST",
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as any).error.code).toBe("payload_too_large");
    // Just under the limit, a signed body goes through.
    const fits = JSON.stringify({ type: "fine_tuning.job.succeeded", data: { id: "ftjob-not-ours", pad: "a".repeat(WEBHOOK_BODY_LIMIT_BYTES - 200) } });
    const ok = await api("POST", "/v1/webhooks/training", fits, { admin: false, headers: signed(env.WEBHOOK_SECRET!, fits) });
    expect(ok.status, ok.text).toBe(200);
  });

  it("answers 500 webhook_misconfigured for a missing or malformed secret, not a body error", async () => {
    const body = JSON.stringify({ type: "x", data: {} });
    const headers = new Headers(signed(env.WEBHOOK_SECRET!, body));
    for (const secret of [undefined, "whsec_***not base64***", "not-a-secret!"]) {
      const err = await verifyDelivery(getDb(env.DB), "training", secret, body, headers).then(
        () => null,
        (e) => e,
      );
      expect(err, String(secret)).toBeInstanceOf(ApiError);
      expect(err.code).toBe("webhook_misconfigured");
      expect(err.status).toBe(500);
      expect(err.message).toMatch(/WEBHOOK_SECRET/);
    }
  });

  it("the cron prunes delivery rows older than the replay window and keeps newer ones", async () => {
    const old = `training:msg_${uniqueTag("old")}`;
    const fresh = `training:msg_${uniqueTag("new")}`;
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString();
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, source, event_type, outcome, received_at) VALUES (?1, 'training', 't', 'ignored', ?2), (?3, 'training', 't', 'ignored', ?4)",
    )
      .bind(old, at(now - (DELIVERY_RETENTION_SECONDS + 60) * 1000), fresh, at(now - 60_000))
      .run();
    const tick = await runScheduled(env, now);
    expect(tick.deliveriesPruned).toBeGreaterThanOrEqual(1);
    expect(await rows(old)).toHaveLength(0);
    expect(await rows(fresh)).toHaveLength(1);
  });
});

describe("training provider error text", () => {
  it("is stored with the provider key and key-shaped strings redacted", async () => {
    const tag = uniqueTag("rd");
    const key = `sk-provider-${tag}-secretvalue`;
    const base = await registerSim(`rd-base-${tag}`, `base:tag=${tag}`);
    const db = getDb(env.DB);
    for (const [i, how] of ["status", "fail"].entries()) {
      const id = `tj_${tag}${i}`;
      await db.insert(trainingJobs).values({
        id,
        status: "running",
        provider: "generic",
        providerBaseUrl: "https://trainer.example.com",
        providerApiKeyEnc: await encryptSecret(key, env.ENCRYPTION_KEY),
        providerJobId: `gj-${tag}`,
        baseEndpointId: base.id,
        baseModel: "b",
        evaluate: {},
      });
      const job = (await db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).get())!;
      const text = `Incorrect API key provided: ${key}; also Bearer abc.def and token_ABCDEFGH12345`;
      if (how === "status") await recordProviderStatus(env, db, job, { state: "failed", raw: "failed", error: text }, "webhook");
      else await failJob(env, id, `the provider refused the job: ${text}`);
      const after = (await db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).get())!;
      expect(after.status).toBe("failed");
      expect(after.error, how).toContain("[redacted]");
      expect(after.error, how).not.toContain(key);
      expect(after.error, how).not.toContain("abc.def");
      const events = await env.DB.prepare("SELECT detail FROM training_events WHERE job_id = ?").bind(id).all<{ detail: string }>();
      for (const e of events.results) expect(e.detail, how).not.toContain(key);
    }
  });
});

describe("JSON write size limits", () => {
  it("refuses a JSON body over the limit with 413 in the error shape and stores nothing", async () => {
    const name = `big-${uniqueTag()}`;
    const res = await api("POST", "/v1/endpoints", {
      name,
      baseUrl: "https://models.example.com/v1",
      model: "m",
      systemPrompt: "x".repeat(JSON_BODY_LIMIT_BYTES),
    });
    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: "payload_too_large", details: { limitBytes: JSON_BODY_LIMIT_BYTES } });
    expect((await api("GET", "/v1/endpoints")).json.endpoints.some((e: any) => e.name === name)).toBe(false);
    // Anonymous writes are still 401 first; a normal body is accepted.
    expect(
      (await exports.default.fetch("http://worker/v1/runs", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: "{}" })).status,
    ).toBe(400);
  });
});
