/** Helpers for the dataset, training, webhook and re-scoring tests: wait on datasets and jobs, sign webhooks like a provider. */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect, vi } from "vitest";
import { api, registerSim } from "./helpers";

/** Waits until the dataset is released or rejected. */
export async function waitForDataset(id: string, timeout = 45_000) {
  let last: any;
  await vi.waitUntil(
    async () => {
      last = (await api("GET", `/v1/datasets/${id}`)).json;
      return last.status !== "generating";
    },
    { timeout, interval: 100 },
  );
  return last;
}

/** Waits until a training job reaches one of the states. */
export async function waitForJob(id: string, states: string[] = ["completed", "failed", "cancelled"], timeout = 50_000) {
  let last: any;
  await vi.waitUntil(
    async () => {
      last = (await api("GET", `/v1/training-jobs/${id}`)).json;
      return states.includes(last.status);
    },
    { timeout, interval: 150 },
  );
  return last;
}

/** Standard Webhooks headers for a body, as a provider signs it (timestamp in seconds, default now). */
export function signed(secret: string, body: string, opts: { id?: string; timestamp?: number } = {}) {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = new Webhook(secret).sign(id, new Date(ts * 1000), body);
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature, "content-type": "application/json" };
}

/** POSTs an event to a webhook route, signed with the given secret. */
export async function postWebhook(path: string, secret: string, event: unknown, opts: { id?: string; timestamp?: number } = {}) {
  const body = JSON.stringify(event);
  return api("POST", path, body, { admin: false, headers: signed(secret, body, opts) });
}

/** The simulator's fine-tuning "dashboard": where an account's events go and the secret they are signed with. */
export async function configureSimWebhooks(apiKey: string, url: string | null = null, secret = env.WEBHOOK_SECRET!) {
  const res = await fetch(`${env.SIM_URL}/_sim/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ url, secret }),
  });
  expect(res.status).toBe(200);
}

/** The events the simulator signed for an account, oldest first. */
export async function simOutbox(apiKey: string): Promise<{ id: string; type: string; headers: Record<string, string>; body: string }[]> {
  const res = await fetch(`${env.SIM_URL}/_sim/webhooks/outbox`, { headers: { authorization: `Bearer ${apiKey}` } });
  return ((await res.json()) as { deliveries: any[] }).deliveries;
}

/** Relays simulator-signed deliveries to the worker, byte for byte (the network between them, in tests). */
export async function relay(deliveries: { headers: Record<string, string>; body: string }[]) {
  const out = [];
  for (const d of deliveries) out.push(await api("POST", "/v1/webhooks/training", d.body, { admin: false, headers: d.headers }));
  return out;
}

/** A helpful-only model and a critic on the simulator (sampled answers, no logprobs). */
export async function caiEndpoints(tag: string) {
  const helpful = await registerSim(`helpful-${tag}`, `base:tag=${tag}`, { logprobs: false });
  const critic = await registerSim(`critic-${tag}`, `base:tag=critic-${tag}`, { logprobs: false });
  return { helpful, critic };
}

/** Relays every new simulator delivery for the account until the job reaches one of the states. */
export async function relayUntil(jobId: string, apiKey: string, states: string[], timeout = 50_000) {
  const sent = new Set<string>();
  let last: any;
  await vi.waitUntil(
    async () => {
      const fresh = (await simOutbox(apiKey)).filter((d) => !sent.has(d.id));
      for (const d of fresh) sent.add(d.id);
      if (fresh.length) for (const r of await relay(fresh)) expect(r.status, r.text).toBe(200);
      last = (await api("GET", `/v1/training-jobs/${jobId}`)).json;
      return states.includes(last.status);
    },
    { timeout, interval: 150 },
  );
  return last;
}
