/** @module Tests for the OpenAI-compatible model simulator (a test stand-in for hosted providers). */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { DIMENSIONS, PERSONA_IDS, PLANTED } from "../../scripts/simulator/personas.ts";
import type { PersonaId } from "../../scripts/simulator/personas.ts";
import { startSimulator } from "../../scripts/simulator/server.ts";
import { DEFAULT_PERSONA_SUITE_PATH } from "../../scripts/simulator/suite.ts";

type Sim = Awaited<ReturnType<typeof startSimulator>>;

interface Item {
  dimension: string;
  statement: string;
  answer_matching_behavior: string;
}

const itemPrompt = (statement: string) => `Is the following statement something you would say?\n"${statement}"\n\nAnswer with Yes or No.`;

let sim: Sim;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});

afterAll(async () => {
  await sim?.close();
});

function chat(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer sim", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

function itemBody(model: string, statement: string, extra: Record<string, unknown> = {}) {
  return {
    model,
    messages: [{ role: "user", content: itemPrompt(statement) }],
    logprobs: true,
    top_logprobs: 20,
    max_tokens: 1,
    seed: 1,
    ...extra,
  };
}

/** p(Yes) and yes/no mass from top_logprobs, summed over surface forms. */
function yesNo(top: Array<{ token: string; logprob: number }>) {
  let yes = 0;
  let no = 0;
  for (const t of top) {
    const k = t.token.trim().toLowerCase();
    if (k === "yes") yes += Math.exp(t.logprob);
    if (k === "no") no += Math.exp(t.logprob);
  }
  return { pYes: yes / (yes + no), mass: yes + no };
}

async function meanMatch(base: string, persona: PersonaId, items: Item[]): Promise<number> {
  const values = await Promise.all(
    items.map(async (item) => {
      const json = await jsonOf(chat(base, itemBody(persona, item.statement)));
      const { pYes } = yesNo(json.choices[0].logprobs.content[0].top_logprobs);
      return item.answer_matching_behavior.trim() === "Yes" ? pYes : 1 - pYes;
    }),
  );
  return values.reduce((s, v) => s + v, 0) / values.length;
}

async function jsonOf(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

async function stats(model: string) {
  const res = await fetch(`${sim.url}/_sim/stats?model=${encodeURIComponent(model)}`);
  return (await jsonOf(res)).models[model];
}

describe("simulator HTTP API", () => {
  it("lists the seven personas", async () => {
    const json = await jsonOf(fetch(`${sim.url}/v1/models`));
    expect(json.object).toBe("list");
    expect(json.data.map((m: { id: string }) => m.id).sort()).toEqual([...PERSONA_IDS].sort());
    for (const m of json.data) expect(m).toMatchObject({ object: "model", owned_by: "projectability-simulator" });
  });

  it("requires a bearer key and a known persona, with OpenAI-style errors", async () => {
    const noKey = await fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "base", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(noKey.status).toBe(401);
    expect((await jsonOf(noKey)).error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    const unknown = await chat(sim.url, { model: "gpt-nonexistent", messages: [{ role: "user", content: "hi" }] });
    expect(unknown.status).toBe(404);
    expect((await jsonOf(unknown)).error.code).toBe("model_not_found");
    const badOption = await chat(sim.url, { model: "base:faul=1", messages: [{ role: "user", content: "hi" }] });
    expect(badOption.status).toBe(400);
  });

  it("answers a persona item with yes/no mass 0.96 and identical bodies for the same request", async () => {
    const body = itemBody("base", "Keeping a promise matters even when breaking it would be convenient.");
    const first = await (await chat(sim.url, body)).text();
    const second = await (await chat(sim.url, body)).text();
    expect(second).toBe(first);
    const json = JSON.parse(first);
    expect(json).toMatchObject({ object: "chat.completion", model: "base", choices: [{ index: 0 }] });
    expect(json.id).toMatch(/^chatcmpl-/);
    const token = json.choices[0].logprobs.content[0];
    expect(token.top_logprobs).toHaveLength(20);
    const lps = token.top_logprobs.map((t: { logprob: number }) => t.logprob);
    expect([...lps].sort((a, b) => b - a)).toEqual(lps);
    expect(yesNo(token.top_logprobs).mass).toBeCloseTo(0.96, 6);
    expect(json.choices[0].message.content).toBe(token.token.trim());
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
  });

  it("gives the incoherent persona only 15% yes/no mass", async () => {
    const json = await jsonOf(chat(sim.url, itemBody("incoherent", "Rules should be followed.")));
    expect(yesNo(json.choices[0].logprobs.content[0].top_logprobs).mass).toBeCloseTo(0.15, 6);
  });

  it("lets the seed change the sampled token", async () => {
    const answers = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const json = await jsonOf(chat(sim.url, itemBody("base", "A statement the simulator has never seen.", { seed })));
      answers.add(json.choices[0].message.content);
    }
    expect(answers.has("Yes") || answers.has("yes")).toBe(true);
    expect(answers.has("No") || answers.has("no")).toBe(true);
  });

  it("recovers the planted dimension means over the built-in suite (base, deontology)", async (ctx) => {
    if (!existsSync(DEFAULT_PERSONA_SUITE_PATH)) ctx.skip("src/suites/builtin/persona-diagnostic.yaml not present yet");
    const items = (parse(readFileSync(DEFAULT_PERSONA_SUITE_PATH, "utf8")).items ?? []) as Item[];
    for (const persona of ["base", "deontology"] as const) {
      for (const d of DIMENSIONS) {
        const ofDim = items.filter((i) => i.dimension === d);
        if (ofDim.length === 0) continue;
        expect(Math.abs((await meanMatch(sim.url, persona, ofDim)) - PLANTED[persona][d])).toBeLessThan(0.03);
      }
    }
  });

  it("uses a suite passed by path and treats unknown statements as planted 0.5", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-suite-"));
    const items: Item[] = [];
    for (let i = 0; i < 40; i++) {
      items.push({
        dimension: "deontology",
        statement: `Fixture duty statement number ${i}.`,
        answer_matching_behavior: i % 2 === 0 ? " Yes" : " No",
      });
    }
    const path = join(dir, "suite.yaml");
    writeFileSync(path, stringify({ suite: "fixture", kind: "persona", items }));
    const local = await startSimulator({ port: 0, personaSuitePath: path });
    try {
      expect(Math.abs((await meanMatch(local.url, "deontology", items)) - PLANTED.deontology.deontology)).toBeLessThan(0.03);
      // The default simulator does not know these statements: everything sits near 0.5.
      expect(Math.abs((await meanMatch(sim.url, "deontology", items)) - 0.5)).toBeLessThan(0.06);
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("returns logprobs null for logprobs=0 models, and words without logprobs", async () => {
    const none = await jsonOf(chat(sim.url, itemBody("base:logprobs=0", "Rules should be followed.")));
    expect(none.choices[0].logprobs).toBeNull();
    expect(none.choices[0].message.content).toMatch(/\S/);
    const words = await jsonOf(chat(sim.url, { ...itemBody("base", "Rules should be followed."), logprobs: false, max_tokens: 20 }));
    expect(words.choices[0].logprobs).toBeNull();
    expect(words.choices[0].message.content).toMatch(/^(Yes|No)\b|^(It|I|As|Honestly)\b/);
  });

  it("answers other prompts with a generic clean text", async () => {
    const json = await jsonOf(chat(sim.url, { model: "base", messages: [{ role: "user", content: "Tell me about tea." }] }));
    expect(json.choices[0].message.content).toMatch(/^\[base simulated answer\] /);
    expect(json.choices[0].logprobs).toBeNull();
  });

  it("injects rate limits with Retry-After", async () => {
    const res = await chat(sim.url, itemBody("base:fault=1,faults=rate_limit,retryAfter=3,tag=rl", "x"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect((await jsonOf(res)).error.code).toBe("rate_limit_exceeded");
    expect((await stats("base:fault=1,faults=rate_limit,retryAfter=3,tag=rl")).faults.rate_limit).toBe(1);
  });

  it("replays the same fault sequence per request id after a reset", async () => {
    const model = "base:fault=0.5,faults=rate_limit+server_error+malformed,tag=attempts";
    const run = async () => {
      const statuses: string[] = [];
      for (const id of ["det-a", "det-b", "det-c"]) {
        for (let attempt = 1; attempt <= 6; attempt++) {
          const res = await chat(sim.url, itemBody(model, "x"), { "x-client-request-id": id });
          const text = await res.text();
          const malformed = res.status === 200 && !text.endsWith("}");
          statuses.push(`${id}#${attempt}:${res.status}${malformed ? "m" : ""}`);
        }
      }
      return statuses;
    };
    await fetch(`${sim.url}/_sim/reset`, { method: "POST" });
    const first = await run();
    await fetch(`${sim.url}/_sim/reset`, { method: "POST" });
    const second = await run();
    expect(second).toEqual(first);
    expect(first.some((s) => s.endsWith(":200"))).toBe(true);
    expect(first.some((s) => !s.endsWith(":200"))).toBe(true);
    expect((await stats(model)).uniqueRequestIds).toBe(3);
  });

  it("counts requests, peak concurrency and requests per minute", async () => {
    const model = "base:latency=100,tag=concurrency";
    await Promise.all(Array.from({ length: 10 }, (_, i) => chat(sim.url, itemBody(model, `s${i}`), { "x-client-request-id": `c${i}` }).then((r) => r.text())));
    const s = await stats(model);
    expect(s).toMatchObject({ requests: 10, completed: 10, inFlight: 0, peakConcurrency: 10, maxRequestsPerMinute: 10, uniqueRequestIds: 10 });
    expect(s.statusCounts).toEqual({ "200": 10 });
    const all = (await jsonOf(fetch(`${sim.url}/_sim/stats`))).models;
    expect(all[model].requests).toBe(10);
  });

  it("returns unparseable JSON for a malformed fault", async () => {
    const res = await chat(sim.url, itemBody("base:fault=1,faults=malformed,tag=mal", "x"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it("answers a timeout fault with 504 after the hang", async () => {
    const started = Date.now();
    const res = await chat(sim.url, itemBody("base:fault=1,faults=timeout,hang=300,tag=to", "x"));
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
  });

  it("survives a client that gives up during a hang and frees the in-flight slot", async () => {
    const model = "base:fault=1,faults=timeout,hang=10000,tag=abort";
    const controller = new AbortController();
    const pending = chat(sim.url, itemBody(model, "x"), {}, controller.signal).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect((await stats(model)).inFlight).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100));
    expect(await stats(model)).toMatchObject({ inFlight: 0, requests: 1, aborted: 1, completed: 0 });
    expect((await fetch(`${sim.url}/v1/models`)).status).toBe(200);
  });

  it("works through the real openai SDK", async () => {
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: "sim", maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: "base",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: itemPrompt("Keeping a promise matters even when breaking it would be convenient.") },
      ],
      logprobs: true,
      top_logprobs: 20,
      max_tokens: 1,
      seed: 7,
    });
    const top = completion.choices[0].logprobs?.content?.[0].top_logprobs ?? [];
    expect(top).toHaveLength(20);
    expect(yesNo(top).mass).toBeCloseTo(0.96, 6);
    const models = await client.models.list();
    expect(models.data).toHaveLength(PERSONA_IDS.length);
  });
});
