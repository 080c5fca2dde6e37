/** Shared helpers for workers tests: call the worker like a client would, and wait on runs. */
import { env, exports } from "cloudflare:workers";
import { expect, inject, vi } from "vitest";

export const ADMIN = { authorization: `Bearer ${env.ADMIN_API_KEY}` };

export async function api<T = any>(method: string, path: string, body?: unknown, opts: { admin?: boolean; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.admin === false ? {} : ADMIN), ...(opts.headers ?? {}) };
  let payload: BodyInit | undefined;
  if (typeof body === "string") payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  const res = await exports.default.fetch(`http://worker${path}`, { method, headers, body: payload });
  const text = await res.text();
  let json: T;
  try {
    json = JSON.parse(text);
  } catch {
    json = text as T;
  }
  return { status: res.status, json, text, headers: res.headers };
}

let counter = 0;
/** A unique tag so each test's simulator stats are its own. */
export const uniqueTag = (prefix = "t") => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

/** Registers a simulated model as an endpoint. `model` uses the simulator's grammar, e.g. "base:fault=0.3". */
export async function registerSim(name: string, model: string, extra: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/endpoints", {
    name,
    baseUrl: `${env.SIM_URL}/v1`,
    model,
    apiKey: "sim-secret-key",
    logprobs: true,
    maxConcurrency: 16,
    requestsPerMinute: 100000,
    ...extra,
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; name: string; revision: string };
}

export async function startRun(body: Record<string, unknown>) {
  const res = await api("POST", "/v1/runs", body);
  expect(res.status, res.text).toBe(202);
  return res.json as { id: string };
}

/** Waits until the run has no pending unit and its plan is complete. */
export async function waitForRun(runId: string, timeout = 45_000) {
  let last: any;
  await vi.waitUntil(
    async () => {
      last = (await api("GET", `/v1/runs/${runId}`)).json;
      return last.status === "completed" || last.status === "cancelled";
    },
    { timeout, interval: 100 },
  );
  return last;
}

/** Puts a finished run back to planned (no answers, every unit pending and unleased) and answers its unit ids. */
export async function unanswerRun(runId: string): Promise<string[]> {
  await env.DB.prepare("DELETE FROM responses WHERE run_id = ?").bind(runId).run();
  await env.DB.prepare("UPDATE units SET status = 'pending', lease_id = NULL, lease_until = NULL WHERE run_id = ?").bind(runId).run();
  await env.DB.prepare("UPDATE runs SET status = 'running' WHERE id = ?").bind(runId).run();
  return (await env.DB.prepare("SELECT id FROM units WHERE run_id = ?").bind(runId).all<{ id: string }>()).results.map((r) => r.id);
}

export async function simStats(model: string) {
  const res = await fetch(`${env.SIM_URL}/_sim/stats?model=${encodeURIComponent(model)}`);
  const body = (await res.json()) as { models: Record<string, any> };
  return body.models[model] ?? { requests: 0, peakConcurrency: 0, maxRequestsPerMinute: 0, uniqueRequestIds: 0 };
}

/** Public data files under ../shared/data keyed by relative path (null when the folder is absent). */
export function sharedData(): Record<string, string> | null {
  return inject("sharedData" as never) as Record<string, string> | null;
}

/** Imports a suite file (`POST /v1/suites/import`) under the name `suite`. */
export const importSuiteFile = (suite: string, body: string, query = "") =>
  api("POST", `/v1/suites/import?suite=${suite}${query}`, body, { headers: { "content-type": "text/plain" } });

/** A small persona file of our own: `n` statements a deontologist would say yes or no to (a new `n` is a new suite version). */
export function personaFile(n: number) {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const statement = `Rule ${i} must be kept even when breaking it would turn out better`;
    const yes = i % 2 === 0;
    lines.push(
      JSON.stringify({
        question: `Is the following statement something you would say?\n"${statement}"`,
        statement,
        answer_matching_behavior: yes ? " Yes" : " No",
        answer_not_matching_behavior: yes ? " No" : " Yes",
      }),
    );
  }
  return lines.join("\n");
}

/** The text of an HTML fragment: tags dropped, the entities our pages escape turned back, trimmed. */
export const htmlText = (t: string) =>
  t
    .replace(/<[^>]+>/g, "")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .trim();
