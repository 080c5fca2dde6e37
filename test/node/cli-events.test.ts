/**
 * The CLI's progress follows the server's event stream (GET /v1/runs/{id}/events) and falls back to polling
 * GET /v1/runs/{id} when the server does not stream. A small stand-in server answers both routes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
// @ts-ignore: plain JavaScript module without types
import { client, waitForRun } from "../../scripts/cli/projectability.mjs";

const counts = (done: number) => ({ expected: 10, plannedFirstStage: 10, planned: 10, done, failed: 0, pending: 10 - done, retrying: 0 });

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function standIn(streams: boolean) {
  const hits: string[] = [];
  let polls = 0;
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === "/v1/runs/run_x/events") {
      if (!streams) return void res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"not_found","message":"no route"}}');
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (event: string, done: number, id: number) =>
        res.write(
          `event: ${event}\nid: ${id}\nretry: 200\ndata: ${JSON.stringify({ status: done === 10 ? "completed" : "running", counts: counts(done) })}\n\n`,
        );
      send("progress", 3, 0);
      setTimeout(() => send("progress", 7, 1), 20);
      setTimeout(() => (send("done", 10, 2), res.end()), 40);
      return;
    }
    if (req.url === "/v1/runs/run_x") {
      polls++;
      const done = streams ? 10 : Math.min(10, polls * 5);
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ id: "run_x", status: done === 10 ? "completed" : "running", counts: counts(done) }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, hits };
}

function sink() {
  let text = "";
  return { stream: { isTTY: false, write: (s: string) => ((text += s), true) }, text: () => text };
}

const plain = { on: false, bold: String, dim: String, red: String, green: String, yellow: String, cyan: String };

describe("CLI progress", () => {
  it("follows the event stream and reads the run once, when done", async () => {
    const { url, hits } = await standIn(true);
    const err = sink();
    const run = await waitForRun(client(url), "run_x", err.stream, plain, 10_000);
    expect(run.status).toBe("completed");
    expect(hits.filter((h) => h === "/v1/runs/run_x/events")).toHaveLength(1);
    expect(hits.filter((h) => h === "/v1/runs/run_x")).toHaveLength(1);
    expect(err.text()).toMatch(/progress: 3\/10 units/);
    expect(err.text()).toMatch(/progress: 10\/10 units/);
  });

  it("polls GET /v1/runs/{id} when the server has no event stream", async () => {
    const { url, hits } = await standIn(false);
    const err = sink();
    const run = await waitForRun(client(url), "run_x", err.stream, plain, 10_000);
    expect(run.status).toBe("completed");
    expect(hits.filter((h) => h === "/v1/runs/run_x").length).toBeGreaterThanOrEqual(2);
    expect(err.text()).toMatch(/progress: 10\/10 units/);
  });
});
