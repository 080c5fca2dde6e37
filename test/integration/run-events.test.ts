/**
 * `GET /v1/runs/{id}/events`: progress as server-sent events, read from stored rows. The stream's counts are the
 * ones GET /v1/runs/{id} gives, it ends with a `done` event, and a private endpoint's run stays hidden.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

interface SseEvent {
  event: string;
  id: string;
  data: any;
}

/** Reads a whole event stream (until the server ends it) and parses its events. */
async function readEvents(path: string, admin = true): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const res = await exports.default.fetch(`http://worker${path}`, { headers: admin ? ADMIN : {} });
  if (res.status !== 200) return { status: res.status, contentType: res.headers.get("content-type"), events: [] };
  const text = await res.text();
  const events = text
    .split(/\n\n/)
    .filter((block) => block.includes("data:"))
    .map((block) => {
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim() ?? "";
      return { event: field("event"), id: field("id"), data: JSON.parse(field("data")) };
    });
  return { status: res.status, contentType: res.headers.get("content-type"), events };
}

describe("run progress events", () => {
  it("streams progress while the run works and ends with done, with the counts GET /v1/runs/{id} gives", async () => {
    const tag = uniqueTag("sse");
    // A slow simulated model (latency) so the run is still going when the stream starts.
    const ep = await registerSim(`m-${tag}`, `base:latency=150,tag=${tag}`, { maxConcurrency: 4 });
    const run = await startRun({ endpointId: ep.id, seed: 2, limit: 40 });
    const { status, contentType, events } = await readEvents(`/v1/runs/${run.id}/events?interval=200`);
    expect(status).toBe(200);
    expect(contentType).toMatch(/text\/event-stream/);
    expect(events.length).toBeGreaterThan(1);
    expect(events.slice(0, -1).every((e) => e.event === "progress")).toBe(true);
    const last = events.at(-1)!;
    expect(last.event).toBe("done");
    expect(last.data.status).toBe("completed");
    // The final event's counts are exactly the run's counts as GET /v1/runs/{id} reports them.
    const read = (await api("GET", `/v1/runs/${run.id}`)).json;
    expect(last.data.counts).toEqual(read.counts);
    expect(last.data.stages).toEqual([{ stage: 0, kind: "ask", pending: 0, done: read.counts.done, failed: read.counts.failed }]);
    expect(last.data.etaSeconds).toBe(0);
    // Progress only moves forward and ids count up. Results are stored a batch at a time, so the counts may jump.
    const done = events.map((e) => e.data.counts.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done[0]).toBeLessThan(done.at(-1)!);
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i));
    expect(events[0].data.status).toMatch(/^(planning|running)$/);
    // The rate counts answers stored in the last 10 s: the run just finished, so it is positive.
    expect(last.data.callsPerSecond).toBeGreaterThan(0);
  });

  it("a finished run answers one done event at once; failures carry reasons only for the admin key", async () => {
    const tag = uniqueTag("ssef");
    const ep = await registerSim(`f-${tag}`, `no_such_persona:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, seed: 2, limit: 8 });
    await waitForRun(run.id);
    const admin = await readEvents(`/v1/runs/${run.id}/events`);
    expect(admin.events.map((e) => e.event)).toEqual(["done"]);
    expect(admin.events[0].data.counts).toEqual((await api("GET", `/v1/runs/${run.id}`)).json.counts);
    const failed = admin.events[0].data.counts.failed;
    expect(failed).toBeGreaterThan(0);
    expect(admin.events[0].data.failures.reduce((a: number, f: any) => a + f.count, 0)).toBe(failed);
    expect(admin.events[0].data.failures[0].reason).toMatch(/HTTP 4\d\d/);
    const anon = await readEvents(`/v1/runs/${run.id}/events`, false);
    expect(anon.events[0].data.failures.every((f: any) => f.reason === null)).toBe(true);
  });

  it("the run page (no scripts) reloads itself while the run works, links the event stream, and stops reloading when done", async () => {
    const tag = uniqueTag("ssepg");
    const ep = await registerSim(`pg-${tag}`, `base:latency=400,tag=${tag}`, { maxConcurrency: 2 });
    const run = await startRun({ endpointId: ep.id, seed: 2, limit: 8 });
    const working = await api("GET", `/reports/runs/${run.id}`);
    expect(working.status).toBe(200);
    expect(working.text).toMatch(/<meta http-equiv="refresh" content="5"\/?>/);
    expect(working.text).toContain(`href="/v1/runs/${run.id}/events"`);
    await waitForRun(run.id);
    const done = await api("GET", `/reports/runs/${run.id}`);
    expect(done.text).not.toContain('http-equiv="refresh"');
    expect(done.text).toContain(`href="/v1/runs/${run.id}/export?format=inspect"`);
    expect(done.text).toContain("Tokens and cost");
  });

  it("a private endpoint's run answers 404 without the key; a bad interval is a 400", async () => {
    const tag = uniqueTag("ssep");
    const ep = await registerSim(`p-${tag}`, `base:tag=${tag}`, { private: true });
    const run = await startRun({ endpointId: ep.id, seed: 2, limit: 4 });
    await waitForRun(run.id);
    expect((await readEvents(`/v1/runs/${run.id}/events`, false)).status).toBe(404);
    expect((await readEvents(`/v1/runs/${run.id}/events`)).status).toBe(200);
    expect((await api("GET", `/v1/runs/${run.id}/events?interval=5`)).status).toBe(400);
    expect((await readEvents(`/v1/runs/run_missing/events`)).status).toBe(404);
  });
});
