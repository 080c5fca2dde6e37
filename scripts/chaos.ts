/**
 * @module chaos: `npm run chaos` sends 10,000 units through the local stack (simulator + wrangler dev, a throwaway
 * local state) with 30% injected faults on every model call (429 with and without Retry-After, 500, timeouts, truncated
 * bodies), 10% of answers in odd shapes (refusal, content parts, null tokens, no top_logprobs), every work message
 * delivered twice (DUPLICATE_DELIVERIES=1), and the worker process killed (SIGKILL) and restarted three times mid-run.
 * It prints units lost, judgments duplicated, models called twice for one unit, and the time; exits 1 unless all three
 * counts are 0. `--quick` (CI): 500 units, one restart. A script, not a timed test: its time depends on the machine.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startSimulator } from "./simulator/server.ts";
import type { SimulatorHandle } from "./simulator/server.ts";
import { api, applyLocalMigrations, ensureDevVars, findFreePort, ROOT, startWorker } from "./lib/devstack.ts";
import type { ApiClient, WorkerHandle } from "./lib/devstack.ts";
import { classifyAnsweredTwice, type Restart } from "./lib/double-calls.ts";
import { resumeUnfinishedRuns, type RunStatus, SIM_API_KEY } from "./lib/session.ts";

const quick = process.argv.slice(2).includes("--quick");
/** Runs of ITEMS x SAMPLES persona units each: 5 x 2,000 = 10,000 (quick: 1 x 500). */
const RUNS = quick ? 1 : 5;
const ITEMS = quick ? 50 : 200;
const SAMPLES = 10;
const UNITS = RUNS * ITEMS * SAMPLES;
const RESTARTS = quick ? 1 : 3;
/** Share of model-call attempts that fail, and of answers sent in an odd shape. */
const FAULT_RATE = 0.3;
const ODD_RATE = 0.1;
const FAULTS = "rate_limit+rate_limit_bare+server_error+timeout+malformed";
/** The worker's model timeout; a timeout fault hangs longer than it. */
const MODEL_TIMEOUT_MS = 2_000;
const HANG_MS = 3_000;
const TIMEOUT_MS = (quick ? 8 : 30) * 60_000;
const POLL_MS = 250;
/**
 * The cron's sweep runs every 30 s here (wrangler dev fires no crons; /cdn-cgi/local/scheduled runs one tick), with
 * STALLED_AFTER_SECONDS = 60: a message lost some other way than a kill (a wrangler reload) is found again.
 */
const SWEEP_EVERY_MS = 30_000;
/** After a kill, wait this long before the restart, so the simulator has read all the killed worker sent (ours). */
const KILL_SETTLE_MS = 250;
const STALLED_AFTER_SECONDS = 60;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const note = (line: string) => process.stderr.write(`${line}\n`);
const run = promisify(execFile);

async function countRuns(client: ApiClient, ids: string[]): Promise<RunStatus[]> {
  return Promise.all(ids.map((id) => client.get<RunStatus>(`/v1/runs/${id}`)));
}

/** One SQL query against the throwaway local D1 (read after the worker stops). */
async function d1(persistTo: string, sql: string): Promise<Record<string, number>> {
  return (await d1Rows(persistTo, sql))[0] as Record<string, number>;
}

async function d1Rows(persistTo: string, sql: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(
    process.execPath,
    [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", sql],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(stdout) as { results: Record<string, unknown>[] }[];
  return parsed[0].results;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const persistTo = join(ROOT, ".wrangler", `chaos-${Date.now()}`);
  mkdirSync(persistTo, { recursive: true });
  let sim: SimulatorHandle | null = null;
  let worker: WorkerHandle | null = null;
  const stopAll = async () => {
    await Promise.allSettled([worker?.stop(), sim?.close()]);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stopAll().then(() => process.exit(130)));
  try {
    const vars = ensureDevVars(ROOT, note);
    await applyLocalMigrations(ROOT, { persistTo });
    sim = await startSimulator({ port: await findFreePort(8798), latencyMs: 2 });
    const port = await findFreePort(8797);
    const workerVars = {
      MODEL_TIMEOUT_MS: String(MODEL_TIMEOUT_MS),
      RETRY_BASE_SECONDS: "1",
      DUPLICATE_DELIVERIES: "1",
      STALLED_AFTER_SECONDS: String(STALLED_AFTER_SECONDS),
    };
    // Every boot's wrangler log, read for a double-called unit's lines at the end.
    const logPaths: string[] = [];
    const boot = async () => {
      const w = await startWorker({ port, persistTo, vars: workerVars });
      logPaths.push(w.logPath);
      return w;
    };
    worker = await boot();
    const client = api(worker.url, vars.ADMIN_API_KEY);
    const model = `base:fault=${FAULT_RATE},faults=${FAULTS},odd=${ODD_RATE},hang=${HANG_MS},retryAfter=1,tag=chaos${Date.now()}`;
    const ep = await client.post<{ id: string }>("/v1/endpoints", {
      name: "chaos",
      baseUrl: `${sim.url}/v1`,
      model,
      apiKey: SIM_API_KEY,
      logprobs: true,
      maxConcurrency: 32,
      requestsPerMinute: 1_000_000,
    });
    note(
      `chaos: ${UNITS} units in ${RUNS} run(s), ${FAULT_RATE * 100}% faults (${FAULTS}), ${ODD_RATE * 100}% odd shapes, every work message twice, ${RESTARTS} kill(s) of the worker`,
    );
    const tStart = performance.now();
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await client.post<RunStatus>("/v1/runs", {
        endpointId: ep.id,
        suites: ["persona-diagnostic"],
        limit: ITEMS,
        samplesPerItem: SAMPLES,
        seed: 100 + i,
      });
      runIds.push(r.id);
    }
    // Kill points: evenly spread over the run (e.g. at 25%, 50%, 75% of units settled).
    const killAt = Array.from({ length: RESTARTS }, (_, i) => Math.round((UNITS * (i + 1)) / (RESTARTS + 1)));
    let kills = 0;
    const restarts: Restart[] = [];
    let resumedUnits = 0;
    let latest: RunStatus[] = [];
    let lastSweep = performance.now();
    let sweeps = 0;
    while (true) {
      if (performance.now() - tStart > TIMEOUT_MS) throw new Error(`not finished within ${TIMEOUT_MS / 60_000} min`);
      if (!worker.isAlive()) throw new Error(`wrangler dev exited on its own; log ${worker.logPath}:\n${worker.logTail()}`);
      latest = await countRuns(client, runIds);
      const settled = latest.reduce((a, r) => a + r.counts.done + r.counts.failed, 0);
      if (latest.every((r) => r.status === "completed")) break;
      if (kills < RESTARTS && settled >= killAt[kills]) {
        // SIGKILL: no clean shutdown, in-flight calls and in-memory queue messages die with it.
        process.kill(-worker.pid, "SIGKILL");
        const killedAt = Date.now();
        await worker.stop();
        // The simulator (this process) may still be reading requests the killed worker sent just before the kill.
        await sleep(KILL_SETTLE_MS);
        restarts.push({ killedAt, restartedAt: Date.now() });
        kills++;
        note(`chaos: killed the worker at ${settled}/${UNITS} units settled (kill ${kills}/${RESTARTS}); restarting`);
        worker = await boot();
        const resumed = await resumeUnfinishedRuns(client);
        resumedUnits += resumed.units;
        note(`chaos: restarted; resumed ${resumed.runs} run(s), ${resumed.units} unit(s) re-enqueued`);
        continue;
      }
      if (performance.now() - lastSweep > SWEEP_EVERY_MS) {
        lastSweep = performance.now();
        const tick = await fetch(`${worker.url}/cdn-cgi/local/scheduled`).catch(() => null);
        if (tick?.ok) sweeps++;
      }
      await sleep(POLL_MS);
    }
    const wall = (performance.now() - tStart) / 1000;
    const stats = (await (await fetch(`${sim.url}/_sim/stats?model=${encodeURIComponent(model)}`)).json()) as {
      models: Record<
        string,
        {
          requests: number;
          answeredTwice: number;
          overlappingIds: number;
          answeredTwiceAt: Record<string, number[]>;
          callsOfAnsweredTwice: Record<string, { at: number; end: number; status: number | null }[]>;
          faults: Record<string, number>;
          oddShapes: Record<string, number>;
        }
      >;
    };
    const s = stats.models[model];
    // A unit answered twice with a restart between the calls was re-asked (the killed worker's answer died with it);
    // any other unit answered twice, or with two calls open at once, was called twice (scripts/lib/double-calls.ts).
    const { reasked, doubleCalled } = classifyAnsweredTwice(s.answeredTwiceAt, restarts);
    let doubleCalls = s.overlappingIds + doubleCalled.length;
    // The log lists at most 1,000 ids; any beyond it count as double calls.
    doubleCalls += Math.max(0, s.answeredTwice - Object.keys(s.answeredTwiceAt).length);
    // Every stored answer's raw side (request, raw completion) must be readable from R2: a row pointing at a missing
    // object or line would be an answer lost, though its score survived.
    let rawMissing = 0;
    for (const id of runIds) {
      for (let offset = 0; ; offset += 500) {
        const page = await client.get<{ responses: { status: string; request: unknown }[] }>(`/v1/runs/${id}/responses?offset=${offset}&limit=500`);
        rawMissing += page.responses.filter((r) => r.status === "done" && r.request == null).length;
        if (page.responses.length < 500) break;
      }
    }
    await worker.stop();
    if (doubleCalled.length)
      await explainDoubleCalls(persistTo, doubleCalled, s.callsOfAnsweredTwice, restarts, logPaths, Date.now() - (performance.now() - tStart));
    const inList = runIds.map((id) => `'${id}'`).join(",");
    const db = await d1(
      persistTo,
      `SELECT (SELECT count(*) FROM units WHERE run_id IN (${inList}) AND stage = 0) AS planned, ` +
        `(SELECT count(*) FROM units WHERE run_id IN (${inList}) AND status = 'done') AS done, ` +
        `(SELECT count(*) FROM units WHERE run_id IN (${inList}) AND status = 'failed') AS failed, ` +
        `(SELECT count(*) FROM units u WHERE u.run_id IN (${inList}) AND u.status = 'done' AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.run_id = u.run_id AND r.unit_id = u.id)) AS done_without_answer, ` +
        `(SELECT count(*) - count(DISTINCT unit_id) FROM responses WHERE run_id IN (${inList})) AS duplicate_rows, ` +
        `(SELECT count(*) FROM responses WHERE run_id IN (${inList})) AS responses`,
    );
    const unitsLost = UNITS - db.done - db.failed + db.done_without_answer + Math.max(0, UNITS - db.planned);
    const result = {
      units: UNITS,
      restarts: kills,
      units_lost: unitsLost,
      judgments_duplicated: db.duplicate_rows + Math.max(0, db.responses - db.done),
      raw_answers_missing: rawMissing,
      models_called_twice: doubleCalls,
      reasked_after_kill: reasked.length,
      // Of those, the ones whose killed-worker call the simulator read after the kill (the old rule's false double calls).
      reasked_read_after_kill: reasked.filter((id) => s.answeredTwiceAt[id].some((t) => restarts.some((r) => r.killedAt < t && t < r.restartedAt))).length,
      answered_twice_total: s.answeredTwice,
      overlapping_calls: s.overlappingIds,
      wall_s: Math.round(wall * 10) / 10,
      units_done: db.done,
      units_failed: db.failed,
      model_requests: s.requests,
      faults: s.faults,
      odd_shapes: s.oddShapes,
      units_resumed_after_kills: resumedUnits,
      cron_ticks: sweeps,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    note(
      `units lost: ${result.units_lost}   judgments duplicated: ${result.judgments_duplicated}   raw answers missing: ${result.raw_answers_missing}   models called twice for one unit: ${result.models_called_twice} (re-asked after a kill lost the answer: ${result.reasked_after_kill})   time: ${result.wall_s} s`,
    );
    await sim.close();
    rmSync(persistTo, { recursive: true, force: true });
    if (result.units_lost || result.judgments_duplicated || result.models_called_twice || result.raw_answers_missing) process.exit(1);
    note(`chaos: total ${((performance.now() - t0) / 1000).toFixed(1)} s including start-up`);
  } catch (err) {
    process.stderr.write(`\nchaos failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  }
}

/**
 * For each unit called twice: every call's arrival and end at the simulator (ms since the runs began) with the
 * status sent, the kill and restart times, the unit's row (attempts, last error), and the worker log lines that name it.
 */
async function explainDoubleCalls(
  persistTo: string,
  ids: string[],
  calls: Record<string, { at: number; end: number; status: number | null }[]>,
  restarts: Restart[],
  logPaths: string[],
  t0: number,
): Promise<void> {
  const rel = (t: number) => Math.round(t - t0);
  note(
    `chaos: kills (and restarts) at ${restarts.map((r) => `${rel(r.killedAt)} (${rel(r.restartedAt)})`).join(", ") || "none"} ms; worker logs: ${logPaths.join(", ")}`,
  );
  const rows = await d1Rows(
    persistTo,
    `SELECT id, status, attempts, parse_retries, last_error, lease_id, lease_until, updated_at FROM units WHERE id IN (${ids.map((id) => `'${id}'`).join(",")})`,
  );
  const logs = logPaths.filter((p) => existsSync(p)).map((p) => readFileSync(p, "utf8").split("\n"));
  for (const id of ids) {
    note(`chaos: double call of ${id}`);
    for (const c of calls[id] ?? [])
      note(`  call at ${rel(c.at)} ms, ended ${rel(c.end)} ms, ${c.status === null ? "abandoned by the client" : `status ${c.status}`}`);
    note(`  row: ${JSON.stringify(rows.find((r) => r.id === id) ?? null)}`);
    logs.forEach((lines, i) => {
      for (const line of lines.filter((l) => l.includes(id)).slice(0, 20)) note(`  log ${i}: ${line.slice(0, 400)}`);
    });
  }
}

main();
