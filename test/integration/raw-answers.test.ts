import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { putRawLines, rawReader, rawRunPrefix, readRawObject } from "../../src/db/raw-answers";
import worker from "../../src/index";
import { judgmentsStream } from "../../src/reports/export";
import type { WorkMessage } from "../../src/queue/messages";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";
import { RAW_REF_COLUMNS, withRawSide } from "../raw-helpers";

async function refsOf(runId: string) {
  const { results } = await env.DB.prepare(
    `SELECT ${RAW_REF_COLUMNS}, r.request AS request, r.raw AS raw FROM responses r WHERE r.run_id = ? ORDER BY r.unit_id`,
  )
    .bind(runId)
    .all<{ unitId: string; rawKey: string | null; rawLine: number | null; request: string | null; raw: string | null }>();
  return results;
}

async function objectKeys(runId: string): Promise<string[]> {
  return (await env.RAW.list({ prefix: rawRunPrefix(runId) })).objects.map((o) => o.key).sort();
}

/** One batch of work messages (5 units each, as the planner sends them) for the units; message ids `${id}-n`. */
async function deliver(runId: string, unitIds: string[], id: string, useEnv: Env = env) {
  const messages = [];
  for (let i = 0; i < unitIds.length; i += 5) {
    const body: WorkMessage = { v: 1, kind: "work", runId, unitIds: unitIds.slice(i, i + 5) };
    messages.push({ id: `${id}-${i / 5}`, timestamp: new Date(), attempts: 1, body });
  }
  const batch = createMessageBatch("projectability-work", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, useEnv, ctx);
  return getQueueResult(batch, ctx);
}

describe("raw answers in R2", () => {
  it("a write's lines round-trip through one gzip JSONL object per run", async () => {
    const lines = [
      { runId: "run-a", unitId: "u1", request: { messages: [{ role: "user", content: "Q1" }] }, raw: { choices: [{ message: { content: "Yes" } }] } },
      { runId: "run-b", unitId: "u2", request: { messages: [{ role: "user", content: "Q2" }] }, raw: { id: "x" } },
      { runId: "run-a", unitId: "u3", request: { messages: [{ role: "user", content: "Q3 ✓" }] }, raw: { choices: [] } },
    ];
    const refs = await putRawLines(env.RAW, lines);
    expect(refs.get("u1")!.rawKey).toBe(refs.get("u3")!.rawKey);
    expect(refs.get("u1")!.rawKey).not.toBe(refs.get("u2")!.rawKey);
    expect(refs.get("u1")!.rawKey).toMatch(/^raw\/run-a\/[0-9a-f]{16}\.jsonl\.gz$/);
    expect([refs.get("u1")!.rawLine, refs.get("u3")!.rawLine, refs.get("u2")!.rawLine]).toEqual([0, 1, 0]);
    // Stored compressed: the gzip magic number.
    const bytes = new Uint8Array(await (await env.RAW.get(refs.get("u1")!.rawKey))!.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(await readRawObject(env.RAW, refs.get("u1")!.rawKey)).toEqual([
      { unitId: "u1", request: lines[0].request, raw: lines[0].raw },
      { unitId: "u3", request: lines[2].request, raw: lines[2].raw },
    ]);
    const reader = rawReader(env.RAW);
    expect((await reader.line({ ...refs.get("u3")!, unitId: "u3" }))?.request).toEqual(lines[2].request);
    // A line that holds another unit, or a missing object, is no answer.
    expect(await reader.line({ ...refs.get("u3")!, unitId: "u1" })).toBeNull();
    expect(await reader.line({ rawKey: "raw/run-a/missing.jsonl.gz", rawLine: 0, unitId: "u1" })).toBeNull();
    // The same first unit written twice gets two objects: neither overwrites lines another row points at.
    const again = await putRawLines(env.RAW, [lines[0]]);
    expect(again.get("u1")!.rawKey).not.toBe(refs.get("u1")!.rawKey);
  });

  it("a reader fetches each object once however its lines are asked for (exports page in unit-id order, not write order)", async () => {
    // 120 objects of 3 lines each, more than the decoded cache holds, read line by line in a shuffled order, twice.
    const refs: { rawKey: string; rawLine: number; unitId: string }[] = [];
    for (let o = 0; o < 120; o++) {
      const lines = [0, 1, 2].map((i) => ({ runId: "run-order", unitId: `o${o}-${i}`, request: { o, i }, raw: {} }));
      for (const [unitId, ref] of await putRawLines(env.RAW, lines)) refs.push({ ...ref, unitId });
    }
    let gets = 0;
    const counting = { get: (key: string) => (gets++, env.RAW.get(key)) } as unknown as R2Bucket;
    const reader = rawReader(counting);
    let seed = 7;
    const shuffled = [...refs, ...refs].sort(() => ((seed = (seed * 16807) % 2147483647) / 2147483647 < 0.5 ? -1 : 1));
    for (const ref of shuffled)
      expect((await reader.line(ref))?.request).toEqual({ o: Number(ref.unitId.slice(1, ref.unitId.indexOf("-"))), i: Number(ref.unitId.at(-1)) });
    expect(gets).toBe(120);
    // With no room for bodies (and one decoded object) the same reads fetch objects again: the budget is a budget.
    gets = 0;
    const tight = rawReader(counting, { bytes: 0, decoded: 1 });
    for (const ref of shuffled) await tight.line(ref);
    expect(gets).toBeGreaterThan(240);
  });

  it("a run's answers are stored by reference, and a redelivered batch writes no second answer or object", async () => {
    const tag = uniqueTag("raw");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`raw-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 21, limit: 6 });
    await waitForRun(run.id);
    const rows = await refsOf(run.id);
    expect(rows).toHaveLength(6);
    // Nothing raw is left in D1; every reference resolves to its own unit's line.
    expect(rows.every((r) => r.request === null && r.raw === null)).toBe(true);
    const resolved = await withRawSide(rows);
    expect(resolved.every((r) => r.raw.model === model && r.request.messages.at(-1).role === "user")).toBe(true);
    const keys = await objectKeys(run.id);
    expect(keys.length).toBeGreaterThanOrEqual(1);

    const ids = rows.map((r) => r.unitId);
    for (const id of ["d1", "d2"]) expect((await deliver(run.id, ids, id)).explicitAcks.sort()).toEqual([`${id}-0`, `${id}-1`]);
    expect((await simStats(model)).requests).toBe(6);
    expect(await refsOf(run.id)).toEqual(rows);
    expect(await objectKeys(run.id)).toEqual(keys);
  });

  it("a failed R2 put stores no answer (the unit is retried); a worker killed after the put leaves only an orphan object", async () => {
    const tag = uniqueTag("rawfail");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`rawfail-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 22, limit: 4 });
    await waitForRun(run.id);
    const firstKeys = await objectKeys(run.id);
    // As if the worker died after its R2 put and before its D1 batch: the units are pending with no response.
    await env.DB.prepare("DELETE FROM responses WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("UPDATE units SET status = 'pending', lease_id = NULL, lease_until = NULL WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("UPDATE runs SET status = 'running' WHERE id = ?").bind(run.id).run();
    const ids = (await env.DB.prepare("SELECT id FROM units WHERE run_id = ?").bind(run.id).all<{ id: string }>()).results.map((r) => r.id);

    const failing = { ...env, RAW: { put: () => Promise.reject(new Error("R2 is down")) } as unknown as R2Bucket };
    vi.spyOn(console, "error").mockImplementation(() => {});
    const failed = await deliver(run.id, ids, "f1", failing);
    vi.restoreAllMocks();
    expect(failed.retryMessages.map((m) => m.msgId)).toEqual(["f1-0"]);
    expect(await refsOf(run.id)).toEqual([]);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM units WHERE run_id = ? AND status = 'pending'").bind(run.id).first<{ n: number }>())!.n).toBe(4);

    // Once the failed delivery's leases expire, the redelivery answers again and writes a new object.
    await env.DB.prepare("UPDATE units SET lease_until = '2000-01-01T00:00:00.000Z' WHERE run_id = ?").bind(run.id).run();
    await deliver(run.id, ids, "f2");
    const rows = await refsOf(run.id);
    expect(rows).toHaveLength(4);
    await withRawSide(rows);
    const keys = await objectKeys(run.id);
    expect(keys.length).toBe(firstKeys.length + 1);
    expect(rows.every((r) => !firstKeys.includes(r.rawKey!))).toBe(true);
  });

  it("readers take the prompt from R2, and from D1 for a row written before migration 0009", async () => {
    const tag = uniqueTag("rawread");
    const ep = await registerSim(`rawread-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 23, limit: 3 });
    await waitForRun(run.id);
    const rows = await withRawSide(await refsOf(run.id));
    // One row as an older version stored it: the request in D1, no reference.
    const old = rows[0];
    const oldRequest = { ...old.request, messages: [{ role: "user", content: "stored in D1 before 0009" }] };
    await env.DB.prepare("UPDATE responses SET request = ?, raw = '{}', raw_key = NULL, raw_line = NULL WHERE unit_id = ?")
      .bind(JSON.stringify(oldRequest), old.unitId)
      .run();

    const exported = (await api("GET", `/v1/runs/${run.id}/judgments.jsonl`)).text
      .trim()
      .split("\n")
      .map((l: string) => JSON.parse(l));
    const promptOf = (id: string) => exported.find((r: any) => r.unitId === id).prompt;
    expect(promptOf(old.unitId)).toBe("stored in D1 before 0009");
    for (const r of rows.slice(1)) expect(promptOf(r.unitId)).toBe(r.request.messages.at(-1).content);

    const listed = (await api("GET", `/v1/runs/${run.id}/responses`)).json.responses;
    const requestOf = (id: string) => listed.find((r: any) => r.unitId === id).request;
    expect(requestOf(old.unitId)).toEqual(oldRequest);
    for (const r of rows.slice(1)) expect(requestOf(r.unitId)).toEqual(r.request);
    expect(listed.every((r: any) => !("rawKey" in r))).toBe(true);
  });

  it("an admin export reads each object once, not once per answer", async () => {
    const tag = uniqueTag("rawonce");
    const ep = await registerSim(`rawonce-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 24, limit: 30 });
    await waitForRun(run.id);
    const rows = await refsOf(run.id);
    const objects = new Set(rows.map((r) => r.rawKey));
    const gets: string[] = [];
    const counting = { get: (key: string) => (gets.push(key), env.RAW.get(key)) } as unknown as R2Bucket;
    const text = await new Response(judgmentsStream(env.DB, counting, run.id, "jsonl", true)).text();
    const exported = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(exported.filter((r) => r.status === "done" && typeof r.prompt === "string" && r.prompt.length > 0)).toHaveLength(rows.length);
    expect(gets.sort()).toEqual([...objects].sort());
  });
});
