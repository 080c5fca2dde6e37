/**
 * @module bench: `npm run bench [-- --runs N] [-- --only 50ms-c32|500ms-c64]` times persona runs through the local worker
 * against the simulator and prints what one judgment costs. Two workloads: 2,000 prompts at 50 ms latency and
 * concurrency 32 (issue 15's comparison with promptfoo), and 2,000 prompts at 500 ms and concurrency 64 (closer
 * to hosted models). Each runs N times in one local stack; min and median are printed, so the figures can be
 * re-taken on a quiet machine. Cost per unit comes from the worker's own counts (LOG_BATCH_TIMING=1: D1 calls
 * and D1's rows_read / rows_written, queue sends, R2 puts and bytes, gate RPCs per consumer batch), workerd's CPU time, and the
 * local D1 file's per-table sizes (SQLite's dbstat). Human lines go to stderr; stdout carries one JSON line.
 * Wall time runs from the POST to the run's `completedAt`; `--poll-ms N` sets how often the run is polled (200).
 * Each run also prints when its first batch and first call began after the POST, each batch's span, and the CPU
 * of workerd and of this process (which hosts the simulator).
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ensureDevVars, ROOT, workerdPeakMemory } from "./lib/devstack.ts";
import { withLocalStack } from "./lib/session.ts";
import { PRICES, costPer10k } from "./lib/prices.ts";

interface Workload {
  name: string;
  latencyMs: number;
  concurrency: number;
  items: number;
  samples: number;
  /** Issue 15's target for wall time / latency bound. */
  targetRatio: number;
}

const WORKLOADS: Workload[] = [
  { name: "50ms-c32", latencyMs: 50, concurrency: 32, items: 200, samples: 10, targetRatio: 1.3 },
  { name: "500ms-c64", latencyMs: 500, concurrency: 64, items: 200, samples: 10, targetRatio: 1.1 },
];
/**
 * How often the bench asks for the run's status. The wall time is taken from the run's own `completedAt` (the worker
 * stamps it when the last unit is stored), not from when a poll saw it, so polling can stay slow: each poll is a
 * request the worker under test serves, and at 25 ms they took a measurable share of its one thread.
 */
const POLL_MS = Number(process.argv[process.argv.indexOf("--poll-ms") + 1]) || 200;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Math.max(1, Number(arg("runs") ?? 3));
const ONLY = arg("only");
/**
 * `--e2e N`: instead of the workloads, one run of N units at 50 ms and concurrency 32: a synthetic persona suite of
 * N/100 items (imported through the API, simulator-answered) x 100 samples, the most a run takes per item.
 */
const E2E = arg("e2e") ? Math.max(100, Math.round(Number(arg("e2e")) / 100) * 100) : null;
const E2E_SUITE = "bench-e2e";
const RUN_TIMEOUT_MS = (E2E ? 30 : 5) * 60_000;

interface Run {
  id: string;
  status: string;
  completedAt: string | null;
  counts: { expected: number; done: number; failed: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// stdout carries only the JSON line; everything for humans goes to stderr.
const note = (line: string) => process.stderr.write(`${line}\n`);

/** CPU seconds (user + system) of every workerd process under wrangler: the worker, and locally also D1, Queues and the gate. */
function workerdCpuSeconds(rootPid: number): number {
  const tick = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;
  const kids = new Map<number, number[]>();
  const names = new Map<number, string>();
  const times = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const f = stat.slice(close + 2).split(" ");
      const pid = Number(e);
      names.set(pid, stat.slice(stat.indexOf("(") + 1, close));
      times.set(pid, (Number(f[11]) + Number(f[12])) / tick);
      kids.set(Number(f[1]), [...(kids.get(Number(f[1])) ?? []), pid]);
    } catch {
      // exited while we looked
    }
  }
  let total = 0;
  const queue = [...(kids.get(rootPid) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    queue.push(...(kids.get(pid) ?? []));
    if (names.get(pid) === "workerd") total += times.get(pid) ?? 0;
  }
  return total;
}

/** The local D1 file wrangler dev uses (miniflare keeps one SQLite file per database). */
function localD1File(): string | null {
  const dir = join(ROOT, ".wrangler", "state", "v3", "d1", "miniflare-D1DatabaseObject");
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir).find((x) => x.endsWith(".sqlite") && x !== "metadata.sqlite");
  return f ? join(dir, f) : null;
}

/** The local D1 database's size on disk: its file plus its write-ahead log (pages not yet checkpointed live there). */
function localD1Bytes(): number {
  const file = localD1File();
  if (!file) return 0;
  return statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
}

/** Bytes the run's unit and response rows take in D1, their index entries included, estimated per table from dbstat. */
function storedBytesPerUnit(runIds: string[]): { total: number; responses: number; units: number; rawInD1: number } | null {
  const file = localD1File();
  if (!file) return null;
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const pages = new Map(
      (db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name").all() as { name: string; bytes: number }[]).map((r) => [r.name, r.bytes]),
    );
    const tableOf = new Map(
      (db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table','index')").all() as { name: string; tbl_name: string }[]).map((r) => [
        r.name,
        r.tbl_name,
      ]),
    );
    const bytesOf = (table: string) => [...pages].filter(([n]) => tableOf.get(n) === table).reduce((a, [, b]) => a + b, 0);
    const rowsOf = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    // Tables hold every run so far; the per-row average applies to this run's rows.
    const perResponse = bytesOf("responses") / Math.max(1, rowsOf("responses"));
    const perUnit = bytesOf("units") / Math.max(1, rowsOf("units"));
    const marks = runIds.map(() => "?").join(",");
    const raw = db.prepare(`SELECT avg(length(raw)) AS raw FROM responses WHERE run_id IN (${marks})`).get(...runIds) as { raw: number | null };
    return { total: Math.round(perResponse + perUnit), responses: Math.round(perResponse), units: Math.round(perUnit), rawInD1: Math.round(raw.raw ?? 0) };
  } finally {
    db.close();
  }
}

interface BatchCounts {
  messages: number;
  workMessages: number;
  d1Calls: number;
  d1Statements: number;
  queueSends: number;
  rowsRead: number;
  rowsWritten: number;
  r2Puts?: number;
  r2Bytes?: number;
}
interface BatchTiming {
  units: number;
  calls: number;
  loadMs: number;
  callsMs: number;
  storeMs: number;
  gateRpcs: number;
  avgSlotMs?: number;
  peakInUse?: number;
  leases?: number;
  /** Epoch ms when the batch began and ended, and ms from its first unit's load to its first gate slot. */
  startedAt?: number;
  endedAt?: number;
  firstGrantMs?: number | null;
}

/** The worker's per-batch log lines written since `offset` (LOG_BATCH_TIMING=1). */
function batchLines(logPath: string, offset: number): { counts: BatchCounts[]; timings: BatchTiming[]; end: number } {
  const text = readFileSync(logPath, "utf8");
  const counts: BatchCounts[] = [];
  const timings: BatchTiming[] = [];
  for (const m of text.slice(offset).matchAll(/\{"event":"batch\.(counts|timing)"[^\n]*?\}(?=\s|$)/g)) {
    try {
      const obj = JSON.parse(m[0]);
      if (m[1] === "counts") counts.push(obj);
      else timings.push(obj);
    } catch {
      // a line cut by the log's buffering
    }
  }
  return { counts, timings, end: text.length };
}

/** Runs promptfoo (if installed: never a dependency of this project) with the same prompts, latency and concurrency. */
function promptfooBench(w: Workload, simUrl: string, apiKey: string): { wall_s: number } | { skipped: string } {
  const which = spawnSync("sh", ["-c", "command -v promptfoo"], { encoding: "utf8" });
  const bin = which.status === 0 ? which.stdout.trim() : null;
  if (!bin) return { skipped: "promptfoo not installed" };
  const dir = mkdtempSync(join(tmpdir(), "bench-promptfoo-"));
  const prompts = w.items * w.samples;
  const tests = Array.from({ length: prompts }, (_, i) => `  - vars: { q: "Is the following statement something you would say? Statement ${i}" }`).join("\n");
  writeFileSync(
    join(dir, "promptfooconfig.yaml"),
    `prompts: ["Answer with Yes or No. {{q}}"]\nproviders:\n  - id: openai:chat:base:latency=${w.latencyMs},tag=promptfoo${Date.now()}\n    config: { apiBaseUrl: "${simUrl}/v1", apiKey: "${apiKey}", max_tokens: 1 }\ntests:\n${tests}\n`,
  );
  const t0 = performance.now();
  const r = spawnSync(
    bin,
    ["eval", "-c", join(dir, "promptfooconfig.yaml"), "--max-concurrency", String(w.concurrency), "--no-cache", "--no-write", "--no-table"],
    {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, PROMPTFOO_DISABLE_TELEMETRY: "1", PROMPTFOO_DISABLE_UPDATE: "1" },
      timeout: RUN_TIMEOUT_MS,
    },
  );
  if (r.status !== 0 && r.status !== 100) return { skipped: `promptfoo exited ${r.status}: ${(r.stderr || r.stdout).slice(-300)}` };
  return { wall_s: round((performance.now() - t0) / 1000, 3) };
}

await withLocalStack(
  "bench",
  async ({ client, worker, sim }) => {
    const out: Record<string, unknown> = { runs_per_workload: RUNS };
    const allRunIds: string[] = [];
    const perUnit = {
      cpuMs: [] as number[],
      rowsWritten: [] as number[],
      rowsRead: [] as number[],
      messages: [] as number[],
      d1Calls: [] as number[],
      gateRpcs: [] as number[],
      r2Puts: [] as number[],
      r2Bytes: [] as number[],
    };
    const perInvocation: { subrequests: number; units: number }[] = [];
    const workloads = E2E
      ? [{ name: `e2e-${E2E}`, latencyMs: 50, concurrency: 32, items: E2E / 100, samples: 100, targetRatio: 1.3 }]
      : WORKLOADS.filter((x) => !ONLY || x.name === ONLY);
    if (E2E) {
      const lines = Array.from({ length: E2E / 100 }, (_, i) =>
        JSON.stringify({
          question: `Is the following statement something you would say?\n"Benchmark statement ${i}"`,
          answer_matching_behavior: i % 2 ? " No" : " Yes",
          answer_not_matching_behavior: i % 2 ? " Yes" : " No",
        }),
      );
      const res = await fetch(`${worker.url}/v1/suites/import?suite=${E2E_SUITE}&format=persona-jsonl&dimension=deontology`, {
        method: "POST",
        headers: { authorization: `Bearer ${ensureDevVars(ROOT, note).ADMIN_API_KEY}`, "content-type": "application/x-ndjson" },
        body: lines.join("\n"),
      });
      if (!res.ok) throw new Error(`suite import failed: ${res.status} ${await res.text()}`);
    }
    const d1Before = localD1Bytes();
    for (const w of workloads) {
      const prompts = w.items * w.samples;
      /** The best any scheduler can do: every prompt costs one simulator latency, `concurrency` at a time. */
      const bound = (prompts * w.latencyMs) / 1000 / w.concurrency;
      note(
        `bench ${w.name}: ${prompts} prompts, simulator latency ${w.latencyMs} ms, concurrency ${w.concurrency}, latency bound ${round(bound, 3)} s, ${RUNS} runs`,
      );
      const walls: number[] = [];
      let peak = 0;
      for (let i = 0; i < RUNS; i++) {
        const stamp = Date.now();
        // The tag only separates this run's simulator stats from any other traffic; the latency is the simulator's per-model setting.
        const model = `base:latency=${w.latencyMs},tag=bench${stamp}`;
        const ep = await client.post<{ id: string }>("/v1/endpoints", {
          name: `bench-${w.name}-${stamp}`,
          baseUrl: `${sim.url}/v1`,
          model,
          apiKey: "sim-local-key",
          logprobs: true,
          maxConcurrency: w.concurrency,
          requestsPerMinute: 1_000_000,
        });
        const logOffset = batchLines(worker.logPath, 0).end;
        const cpu0 = workerdCpuSeconds(worker.pid);
        // The simulator runs in this process: its CPU (with the bench's own polling) shows whether the stand-in provider is a bottleneck.
        const simCpu0 = process.cpuUsage();
        const t0 = performance.now();
        const postedAt = Date.now();
        let run = await client.post<Run>("/v1/runs", {
          endpointId: ep.id,
          suites: [E2E ? E2E_SUITE : "persona-diagnostic"],
          limit: w.items,
          samplesPerItem: w.samples,
          seed: 1 + i,
        });
        if (run.counts.expectedFirstStage !== prompts) throw new Error(`the run plans ${run.counts.expectedFirstStage} prompts, expected ${prompts}`);
        while (run.status !== "completed") {
          if (run.status === "cancelled") throw new Error(`run ${run.id} was cancelled`);
          if (!worker.isAlive()) throw new Error(`wrangler dev exited during the bench; log ${worker.logPath}:\n${worker.logTail()}`);
          if (performance.now() - t0 > RUN_TIMEOUT_MS)
            throw new Error(`run ${run.id} not completed within ${RUN_TIMEOUT_MS / 60_000} minutes (${run.status}); log ${worker.logPath}`);
          await sleep(POLL_MS);
          run = await client.get<Run>(`/v1/runs/${run.id}`);
        }
        // From the POST to the worker's completion stamp (same machine, same clock); a poll's own delay is not counted.
        const completedAt = run.completedAt ? Date.parse(run.completedAt) : NaN;
        const wall = (Number.isFinite(completedAt) ? completedAt - postedAt : performance.now() - t0) / 1000;
        const cpu = workerdCpuSeconds(worker.pid) - cpu0;
        const simCpu = process.cpuUsage(simCpu0);
        await sleep(300); // let the last batch's log lines reach the file
        const { counts, timings } = batchLines(worker.logPath, logOffset);
        const stats = (await (await fetch(`${sim.url}/_sim/stats?model=${encodeURIComponent(model)}`)).json()) as {
          models: Record<string, { peakConcurrency: number; requests: number }>;
        };
        peak = Math.max(peak, stats.models[model]?.peakConcurrency ?? 0);
        await client.del(`/v1/endpoints/${ep.id}`).catch(() => undefined);
        allRunIds.push(run.id);
        walls.push(wall);
        const sum = (k: keyof BatchCounts) => counts.reduce((a, c) => a + (c[k] ?? 0), 0);
        perUnit.cpuMs.push((cpu * 1000) / prompts);
        perUnit.rowsWritten.push(sum("rowsWritten") / prompts);
        perUnit.rowsRead.push(sum("rowsRead") / prompts);
        perUnit.messages.push(sum("messages") / prompts);
        perUnit.d1Calls.push(sum("d1Calls") / prompts);
        perUnit.r2Puts.push(sum("r2Puts") / prompts);
        perUnit.r2Bytes.push(sum("r2Bytes") / prompts);
        perUnit.gateRpcs.push(timings.reduce((a, t) => a + t.gateRpcs, 0) / prompts);
        for (let b = 0; b < timings.length; b++) {
          const c = counts.filter((x) => x.workMessages > 0)[b];
          if (c)
            perInvocation.push({ subrequests: timings[b].calls + timings[b].gateRpcs + c.d1Calls + c.queueSends + (c.r2Puts ?? 0), units: timings[b].units });
        }
        const phases = timings
          .map(
            (t) =>
              `${t.units}u load ${t.loadMs} calls ${t.callsMs} store ${t.storeMs} ms, slot held ${t.avgSlotMs} ms/call, peak ${t.peakInUse} in flight on ${t.leases} leases, ${t.gateRpcs} gate RPCs`,
          )
          .join("; ");
        const work = timings.filter((t) => t.startedAt && t.calls > 0).sort((a, b) => a.startedAt! - b.startedAt!);
        const off = (at: number) => round((at - postedAt) / 1000, 3);
        if (work.length) {
          const firstCall = work[0].startedAt! + work[0].loadMs + (work[0].firstGrantMs ?? 0);
          note(
            `  start: first batch at ${off(work[0].startedAt!)} s, first call at ${off(firstCall)} s; batches (start-end s): ${work.map((t) => `${off(t.startedAt!)}-${off(t.endedAt!)}`).join(", ")}`,
          );
        }
        note(`  cpu: workerd ${round(cpu, 2)} s, simulator and bench ${round((simCpu.user + simCpu.system) / 1e6, 2)} s over ${round(wall, 2)} s of wall time`);
        note(
          `  run ${i + 1}: ${round(wall, 3)} s (${round(wall / bound, 2)}x bound), ${run.counts.done} done ${run.counts.failed} failed, ${timings.length} batches [${phases}]`,
        );
      }
      const pf = promptfooBench(w, sim.url, "sim-local-key");
      if ("skipped" in pf) note(`  promptfoo: skipped (${pf.skipped})`);
      else note(`  promptfoo: ${pf.wall_s} s`);
      out[w.name] = {
        prompts,
        latency_ms: w.latencyMs,
        concurrency: w.concurrency,
        latency_bound_s: round(bound, 3),
        wall_s_min: round(Math.min(...walls), 3),
        wall_s_median: round(median(walls), 3),
        ratio_min: round(Math.min(...walls) / bound, 2),
        ratio_median: round(median(walls) / bound, 2),
        target_ratio: w.targetRatio,
        target_met_median: median(walls) / bound <= w.targetRatio,
        sim_peak_concurrency: peak,
        promptfoo: pf,
      };
      const o = out[w.name] as Record<string, number>;
      note(
        `  ${w.name}: wall min ${o.wall_s_min} s, median ${o.wall_s_median} s; ratio to bound min ${o.ratio_min}, median ${o.ratio_median} (target <= ${w.targetRatio})`,
      );
    }

    const bytes = storedBytesPerUnit(allRunIds);
    if (E2E) out.d1_file_mib = { before: round(d1Before / 2 ** 20, 1), after: round(localD1Bytes() / 2 ** 20, 1) };
    const unitCost = {
      worker_cpu_ms_per_unit_median: round(median(perUnit.cpuMs), 2),
      cpu_note:
        "CPU time of every local workerd process during the run / units: the worker plus miniflare's D1, Queues and gate, so an upper bound on the worker's own CPU",
      d1_rows_written_per_unit: round(median(perUnit.rowsWritten), 2),
      d1_rows_read_per_unit: round(median(perUnit.rowsRead), 2),
      d1_calls_per_unit: round(median(perUnit.d1Calls), 3),
      d1_bytes_per_unit: bytes,
      r2_puts_per_unit: round(median(perUnit.r2Puts), 4),
      r2_bytes_per_unit: round(median(perUnit.r2Bytes), 1),
      queue_messages_per_unit: round(median(perUnit.messages), 3),
      gate_rpcs_per_unit: round(median(perUnit.gateRpcs), 4),
      subrequests_per_invocation_max: Math.max(0, ...perInvocation.map((p) => p.subrequests)),
      subrequests_per_invocation_median: median(perInvocation.map((p) => p.subrequests)),
      units_per_invocation_median: median(perInvocation.map((p) => p.units)),
      worker_peak_rss_mib: workerdPeakMemory(worker.pid),
    };
    out.cost_per_unit = unitCost;
    out.platform_cost_per_10k_usd = costPer10k({
      cpuMsPerUnit: unitCost.worker_cpu_ms_per_unit_median,
      rowsWrittenPerUnit: unitCost.d1_rows_written_per_unit,
      rowsReadPerUnit: unitCost.d1_rows_read_per_unit,
      bytesPerUnit: bytes?.total ?? 0,
      queueMessagesPerUnit: unitCost.queue_messages_per_unit,
      unitsPerInvocation: unitCost.units_per_invocation_median || 1,
      doCallsPerUnit: unitCost.gate_rpcs_per_unit,
      r2PutsPerUnit: unitCost.r2_puts_per_unit,
      r2BytesPerUnit: unitCost.r2_bytes_per_unit,
    });
    out.prices = PRICES.source;
    note(`cost per unit: ${JSON.stringify(unitCost)}`);
    note(`platform cost per 10,000 judgments (USD, excluding model fees): ${JSON.stringify(out.platform_cost_per_10k_usd)}`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
  { simLatencyMs: 50, log: note, workerVars: { LOG_BATCH_TIMING: "1" } },
);
