/**
 * @module bench-report: `npm run bench:report [-- --runs N] [-- --units N] [-- --only a,b]` seeds a separate local D1
 * (.wrangler/bench-report, never the developer's `npm start` data) with one persona run of 100,000 judged units,
 * by direct inserts into the local SQLite file (no model calls), then times the run report, the endpoint
 * report, the leaderboard and the CSV / JSONL exports through the local worker, N times each (admin reads,
 * which no cache answers). Prints min and median per read; the target is < 1 s each. `--only` times the
 * named reads alone (run_report, endpoint_report, leaderboard, export_csv, export_jsonl), e.g. the reports of a
 * 10^6-unit run without its gigabyte exports. Human lines go to stderr; stdout carries one JSON line.
 */

import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { mulberry32 } from "./simulator/random.ts";
import { startSimulator } from "./simulator/server.ts";
import type { SimulatorHandle } from "./simulator/server.ts";
import { api, applyLocalMigrations, ensureDevVars, findFreePort, ROOT, startWorker, workerdPeakMemory } from "./lib/devstack.ts";
import type { WorkerHandle } from "./lib/devstack.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Math.max(1, Number(arg("runs") ?? 3));
const UNITS = Math.max(1000, Number(arg("units") ?? 100_000));
const ONLY = arg("only")?.split(",");
/** The target for each report (seconds). */
const TARGET_S = 1;
const PERSIST = join(ROOT, ".wrangler", "bench-report");

const note = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function d1File(): string {
  const walk = (dir: string): string | null => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) {
        const hit = walk(p);
        if (hit) return hit;
      } else if (dir.endsWith("miniflare-D1DatabaseObject") && e.endsWith(".sqlite") && e !== "metadata.sqlite") return p;
    }
    return null;
  };
  const f = existsSync(PERSIST) ? walk(PERSIST) : null;
  if (!f) throw new Error(`no local D1 file under ${PERSIST}`);
  return f;
}

/**
 * Copies a small real run into a run of `units` judged units: same suite version, endpoint and response shape
 * (request, parsed), with seeded scores. Inserts in one transaction with prepared statements. The seeded rows keep
 * the request in D1 with no R2 reference (the shape of rows before migration 0009): the exports read it from D1,
 * so their timings leave out R2 reads (one per flush object of 25 answers in a real run).
 */
function seed(templateRunId: string, units: number, templateRequest: string): string {
  const db = new DatabaseSync(d1File());
  try {
    const run = db.prepare("SELECT * FROM runs WHERE id = ?").get(templateRunId) as Record<string, unknown>;
    const svId = (JSON.parse(String(run.suite_version_ids)) as string[])[0];
    const items = db.prepare("SELECT item_key AS key, keying FROM suite_items WHERE suite_version_id = ? ORDER BY position").all(svId) as {
      key: string;
      keying: string;
    }[];
    const tUnit = db.prepare("SELECT * FROM units WHERE run_id = ? AND status = 'done' LIMIT 1").get(templateRunId) as Record<string, unknown>;
    const tResp = db.prepare("SELECT * FROM responses WHERE run_id = ? AND unit_id = ?").get(templateRunId, String(tUnit.id)) as Record<string, unknown>;
    const samples = Math.ceil(units / items.length);
    const runId = `run_bench${units}_${Date.now()}`;
    const ins = (table: string, row: Record<string, unknown>) => {
      const cols = Object.keys(row);
      return db.prepare(`INSERT INTO ${table} (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`);
    };
    // Newer than the template, so the endpoint report and the leaderboard pick this run.
    const at = new Date().toISOString();
    const newRun = {
      ...run,
      id: runId,
      samples_per_item: samples,
      item_limit: null,
      expected_units: units,
      status: "completed",
      created_at: at,
      updated_at: at,
      completed_at: at,
    };
    const unitCols = Object.keys(tUnit);
    const respCols = Object.keys(tResp);
    const insUnit = ins("units", tUnit);
    const insResp = ins("responses", tResp);
    const parsed = JSON.parse(String(tResp.parsed)) as Record<string, unknown>;
    // A deterministic stream in [0, 1), so every seeding writes the same scores.
    const r = mulberry32(1);
    db.exec("BEGIN");
    ins("runs", newRun).run(...Object.values(newRun).map((v) => v as never));
    for (let i = 0; i < units; i++) {
      const item = items[i % items.length];
      const id = `u_${runId}_${i}`;
      const unit: Record<string, unknown> = { ...tUnit, id, run_id: runId, item_key: item.key, sample_index: Math.floor(i / items.length), status: "done" };
      insUnit.run(...unitCols.map((c) => unit[c] as never));
      const pYes = r();
      const score = item.keying === "no" ? 1 - pYes : pYes;
      const resp: Record<string, unknown> = {
        ...tResp,
        unit_id: id,
        run_id: runId,
        score,
        parsed: JSON.stringify({ ...parsed, pYes, pNo: 1 - pYes, pMatch: score }),
        request: templateRequest,
        raw_key: null,
        raw_line: null,
      };
      insResp.run(...respCols.map((c) => resp[c] as never));
    }
    db.exec("COMMIT");
    return runId;
  } finally {
    db.close();
  }
}

/** Time to the whole body (and to the first byte), in seconds. */
async function timeGet(url: string, key: string): Promise<{ total: number; firstByte: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  const reader = res.body!.getReader();
  let firstByte = -1;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (firstByte < 0) firstByte = performance.now() - t0;
    if (done) break;
    bytes += value.byteLength;
  }
  return { total: (performance.now() - t0) / 1000, firstByte: firstByte / 1000, bytes, status: res.status };
}

let sim: SimulatorHandle | null = null;
let worker: WorkerHandle | null = null;
try {
  const vars = ensureDevVars(ROOT, note);
  rmSync(PERSIST, { recursive: true, force: true });
  await applyLocalMigrations(ROOT, { persistTo: PERSIST });
  sim = await startSimulator({ port: await findFreePort(8790), latencyMs: 2 });
  const port = await findFreePort(8795);
  worker = await startWorker({ port, persistTo: PERSIST });
  const client = api(worker.url, vars.ADMIN_API_KEY);
  // A small real run gives the seed its shapes: suite version, endpoint, request, raw completion, parsed.
  const ep = await client.post<{ id: string }>("/v1/endpoints", {
    name: "bench-report",
    baseUrl: `${sim.url}/v1`,
    model: "base",
    apiKey: "sim-local-key",
    logprobs: true,
    maxConcurrency: 16,
    requestsPerMinute: 100_000,
  });
  let small = await client.post<{ id: string; status: string }>("/v1/runs", {
    endpointId: ep.id,
    suites: ["persona-diagnostic"],
    limit: 20,
    samplesPerItem: 1,
    seed: 1,
  });
  const deadline = Date.now() + 120_000;
  while (small.status !== "completed") {
    if (Date.now() > deadline) throw new Error("the template run did not complete in 2 minutes");
    await new Promise((r) => setTimeout(r, 200));
    small = await client.get(`/v1/runs/${small.id}`);
  }
  // The template's request lives in R2 (migration 0009); seeded rows carry it in D1, as rows before 0009 did.
  const template = await client.get<{ responses: { request: unknown }[] }>(`/v1/runs/${small.id}/responses?limit=1`);
  const templateRequest = JSON.stringify(template.responses[0].request);
  // Stop the worker while writing its SQLite file directly, then start it again on the same state.
  await worker.stop();
  worker = null;
  const t0 = performance.now();
  const runId = seed(small.id, UNITS, templateRequest);
  note(
    `seeded ${UNITS} judged units in ${round((performance.now() - t0) / 1000, 1)} s (run ${runId}); D1 file ${round(statSync(d1File()).size / 2 ** 20, 1)} MiB`,
  );
  worker = await startWorker({ port, persistTo: PERSIST });

  const reads: Record<string, string> = {
    run_report: `/v1/runs/${runId}/report`,
    endpoint_report: `/v1/endpoints/${ep.id}/report`,
    leaderboard: `/v1/leaderboard?suite=persona-diagnostic`,
    export_csv: `/v1/runs/${runId}/judgments.csv`,
    export_jsonl: `/v1/runs/${runId}/judgments.jsonl`,
  };
  const unknown = (ONLY ?? []).filter((name) => !(name in reads));
  if (unknown.length) throw new Error(`--only: no read named ${unknown.join(", ")} (reads: ${Object.keys(reads).join(", ")})`);
  const out: Record<string, unknown> = { units: UNITS, runs: RUNS, target_s: TARGET_S };
  for (const [name, path] of Object.entries(reads).filter(([name]) => !ONLY || ONLY.includes(name))) {
    const totals: number[] = [];
    const firsts: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = await timeGet(`${worker.url}${path}`, vars.ADMIN_API_KEY);
      if (t.status !== 200) throw new Error(`${path} answered ${t.status}`);
      totals.push(t.total);
      firsts.push(t.firstByte);
      bytes = t.bytes;
    }
    out[name] = {
      min_s: round(Math.min(...totals), 3),
      median_s: round(median(totals), 3),
      first_byte_median_s: round(median(firsts), 3),
      bytes,
      target_met_median: median(totals) < TARGET_S,
    };
    note(
      `${name}: min ${round(Math.min(...totals), 3)} s, median ${round(median(totals), 3)} s (first byte ${round(median(firsts), 3)} s), ${bytes} bytes ${median(totals) < TARGET_S ? "" : "  (over the 1 s target)"}`,
    );
  }
  out.worker_peak_rss_mib = workerdPeakMemory(worker.pid);
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (err) {
  process.stderr.write(`\nbench:report failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await Promise.allSettled([worker?.stop(), sim?.close()]);
}
