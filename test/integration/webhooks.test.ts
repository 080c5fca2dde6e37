import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { api, uniqueTag } from "../helpers";
import { postWebhook, signed } from "../training-helpers";

async function deliveries(id: string) {
  return (await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").bind(id).all<any>()).results;
}

describe("signed webhooks (Standard Webhooks)", () => {
  const unknownJob = { type: "fine_tuning.job.succeeded", data: { id: "ftjob-not-ours" } };

  it("accepts a valid signature once; a replay answers 200 and changes nothing", async () => {
    const id = `msg_${uniqueTag()}`;
    const first = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { id });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ received: true, duplicate: false, outcome: "ignored" });
    const stored = await deliveries(`training:${id}`);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ source: "training", event_type: "fine_tuning.job.succeeded", outcome: "ignored" });
    const again = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { id });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ received: true, duplicate: true });
    expect(await deliveries(`training:${id}`)).toEqual(stored);
  });

  it("rejects a bad signature, a wrong secret, missing headers and timestamps outside 5 minutes with 401", async () => {
    const body = JSON.stringify(unknownJob);
    const good = signed(env.WEBHOOK_SECRET!, body);
    const tampered = await api("POST", "/v1/webhooks/training", body.replace("not-ours", "not-0urs"), { admin: false, headers: good });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error).toMatchObject({ code: "unauthorized", message: "webhook rejected: No matching signature found" });

    const wrongSecret = await postWebhook("/v1/webhooks/training", env.RESCORE_WEBHOOK_SECRET!, unknownJob);
    expect(wrongSecret.status).toBe(401);

    const noHeaders = await api("POST", "/v1/webhooks/training", body, { admin: false, headers: { "content-type": "application/json" } });
    expect(noHeaders.status).toBe(401);
    expect(noHeaders.json.error.message).toMatch(/Missing required headers/);

    const now = Math.floor(Date.now() / 1000);
    const old = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { timestamp: now - 6 * 60 });
    expect(old.status).toBe(401);
    expect(old.json.error.message).toMatch(/too old/);
    const future = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { timestamp: now + 6 * 60 });
    expect(future.status).toBe(401);
    expect(future.json.error.message).toMatch(/too new/);
    // Inside the tolerance is fine.
    const recent = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { timestamp: now - 4 * 60 });
    expect(recent.status).toBe(200);

    // A rejected delivery is not recorded, so the sender's (correctly signed) retry is still processed.
    const id = `msg_${uniqueTag()}`;
    await api("POST", "/v1/webhooks/training", body, {
      admin: false,
      headers: { ...signed(env.WEBHOOK_SECRET!, body, { id }), "webhook-signature": "v1,AAAA" },
    });
    expect(await deliveries(`training:${id}`)).toHaveLength(0);
    expect((await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, unknownJob, { id })).json.duplicate).toBe(false);
  });

  it("acknowledges unknown event types with a log line and changes nothing else", async () => {
    const log = vi.spyOn(console, "log");
    const res = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, { type: "model.deployed", data: { id: "x" } });
    expect(res.status).toBe(200);
    expect(res.json.outcome).toBe("ignored");
    expect(log.mock.calls.some((c) => String(c[0]).includes('"event":"webhook.ignored"') && String(c[0]).includes("model.deployed"))).toBe(true);
    log.mockRestore();
  });

  it("answers 400 to a signed body that is not an event", async () => {
    const body = "not json";
    const res = await api("POST", "/v1/webhooks/training", body, { admin: false, headers: signed(env.WEBHOOK_SECRET!, body) });
    expect(res.status).toBe(400);
    const noType = await postWebhook("/v1/webhooks/training", env.WEBHOOK_SECRET!, { data: {} });
    expect(noType.status).toBe(400);
  });

  it("keeps the re-score webhook behind its own secret", async () => {
    const event = { type: "rescore.checkpoint", data: { endpointId: "ep_missing" } };
    expect((await postWebhook("/v1/webhooks/rescore", env.WEBHOOK_SECRET!, event)).status).toBe(401);
    const ok = await postWebhook("/v1/webhooks/rescore", env.RESCORE_WEBHOOK_SECRET!, event);
    // Correctly signed; the data names no live endpoint: a clear 400, and the delivery is not marked processed.
    expect(ok.status).toBe(400);
    expect(ok.json.error.code).toBe("invalid_request");
    const bad = await postWebhook("/v1/webhooks/rescore", env.RESCORE_WEBHOOK_SECRET!, { type: "rescore.rejudge", data: { judge: { endpointId: "x" } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/exactly one of runId or endpointId/);
  });
});
