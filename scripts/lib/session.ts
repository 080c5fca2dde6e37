/**
 * @module lib/session: the shared life cycle of the local scripts (start, demos, judge check): simulator and
 * `wrangler dev` up, endpoints registered by name, runs watched with a progress bar, everything stopped on exit.
 */
import { startSimulator } from "../simulator/server.ts";
import type { SimulatorHandle } from "../simulator/server.ts";
import { api, applyLocalMigrations, createProgress, ensureDevVars, findFreePort, ROOT, startWorker } from "./devstack.ts";
import type { ApiClient, WorkerHandle } from "./devstack.ts";

export const SIM_API_KEY = "sim-local-key";

export interface LocalStack {
  client: ApiClient;
  worker: WorkerHandle;
  sim: SimulatorHandle;
  simBaseUrl: string;
}

/** Starts the stack, runs `body`, stops the stack; Ctrl-C stops children first. Exits 1 on error. */
export async function withLocalStack(
  label: string,
  body: (stack: LocalStack) => Promise<void>,
  opts: { simLatencyMs?: number; log?: (line: string) => void; workerVars?: Record<string, string> } = {},
): Promise<void> {
  const log = opts.log ?? console.log;
  let sim: SimulatorHandle | null = null;
  let worker: WorkerHandle | null = null;
  const stopAll = async () => {
    await Promise.allSettled([worker?.stop(), sim?.close()]);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      log(`\n${sig}: stopping`);
      stopAll().then(() => process.exit(130));
    });
  }
  try {
    const vars = ensureDevVars(ROOT, log);
    if (!vars.ADMIN_API_KEY) throw new Error("ADMIN_API_KEY is empty in .dev.vars");
    await applyLocalMigrations(ROOT);
    sim = await startSimulator({ port: await findFreePort(8788), latencyMs: opts.simLatencyMs ?? 2 });
    worker = await startWorker({ port: await findFreePort(8787), vars: opts.workerVars });
    log(`simulator: ${sim.url} (a stand-in for model APIs)   worker: ${worker.url}`);
    await body({ client: api(worker.url, vars.ADMIN_API_KEY), worker, sim, simBaseUrl: `${sim.url}/v1` });
    await stopAll();
  } catch (err) {
    process.stderr.write(`\n${label} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  }
}

export interface EndpointSpec {
  name: string;
  model: string;
  /** Name of the base endpoint (registered earlier in the same list). */
  base?: string;
  constitution?: string | null;
  logprobs?: boolean;
  maxConcurrency?: number;
}

export interface Endpoint {
  id: string;
  name: string;
  hasApiKey: boolean;
  [k: string]: unknown;
}

/** Registers simulated endpoints by name, idempotently (repairs fields that drifted, e.g. the simulator port). */
export async function registerEndpoints(
  client: ApiClient,
  simBaseUrl: string,
  specs: EndpointSpec[],
): Promise<{ endpoints: Endpoint[]; created: number; updated: number }> {
  const { endpoints: live } = await client.get<{ endpoints: Endpoint[] }>("/v1/endpoints");
  const byName = new Map(live.map((e) => [e.name, e]));
  const ids = new Map<string, string>();
  const out: Endpoint[] = [];
  let created = 0;
  let updated = 0;
  for (const spec of specs) {
    const want: Record<string, unknown> = {
      baseUrl: simBaseUrl,
      model: spec.model,
      logprobs: spec.logprobs ?? true,
      maxConcurrency: spec.maxConcurrency ?? 16,
      requestsPerMinute: 100_000,
      baseEndpointId: spec.base ? (ids.get(spec.base) ?? null) : null,
      constitution: spec.constitution ?? null,
    };
    const current = byName.get(spec.name);
    let ep: Endpoint;
    if (!current) {
      ep = await client.post<Endpoint>("/v1/endpoints", { name: spec.name, apiKey: SIM_API_KEY, ...want });
      created++;
    } else {
      const patch: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(want)) if (current[k] !== v) patch[k] = v;
      if (!current.hasApiKey) patch.apiKey = SIM_API_KEY;
      ep = Object.keys(patch).length ? await client.patch<Endpoint>(`/v1/endpoints/${current.id}`, patch) : current;
      if (Object.keys(patch).length) updated++;
    }
    ids.set(spec.name, ep.id);
    out.push(ep);
  }
  return { endpoints: out, created, updated };
}

export interface RunStatus {
  id: string;
  status: string;
  counts: { expected: number; planned: number; done: number; failed: number; pending: number };
}

/** Polls runs until all completed, with one progress bar over all of them (units of every stage). */
export async function waitForRuns(
  client: ApiClient,
  worker: WorkerHandle,
  runIds: string[],
  opts: { timeoutMs?: number; label?: string } = {},
): Promise<Map<string, RunStatus>> {
  const latest = new Map<string, RunStatus>();
  const progress = createProgress(opts.label ?? "runs", { unit: "calls" });
  const deadline = Date.now() + (opts.timeoutMs ?? 5 * 60_000);
  try {
    while (true) {
      if (!worker.isAlive()) throw new Error(`wrangler dev exited during the runs; log ${worker.logPath}:\n${worker.logTail()}`);
      const open = runIds.filter((id) => latest.get(id)?.status !== "completed");
      for (const r of await Promise.all(open.map((id) => client.get<RunStatus>(`/v1/runs/${id}`)))) latest.set(r.id, r);
      let done = 0;
      let total = 0;
      for (const r of latest.values()) {
        done += r.counts.done + r.counts.failed;
        // Follow-up units (judge calls) appear as answers arrive, so the total grows with them.
        total += Math.max(r.counts.expected, r.counts.planned);
      }
      progress.update(done, total);
      const cancelled = [...latest.values()].find((r) => r.status === "cancelled");
      if (cancelled) throw new Error(`run ${cancelled.id} was cancelled`);
      if ([...latest.values()].every((r) => r.status === "completed")) return latest;
      if (Date.now() > deadline) throw new Error(`runs not completed within ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    progress.finish();
  }
}

/**
 * Resumes the runs a previous local stop left unfinished: `wrangler dev` keeps queue messages in memory, so a stop
 * mid-run loses them and the run would stay "running" for ever. Each such run is resumed (its units without a stored
 * answer are re-enqueued; units stored already are never asked again). Returns what it resumed.
 */
export async function resumeUnfinishedRuns(client: ApiClient, skip: Set<string> = new Set()): Promise<{ runs: number; units: number }> {
  const { runs } = await client.get<{ runs: RunStatus[] }>("/v1/runs?status=running&limit=200");
  let units = 0;
  let resumed = 0;
  for (const run of runs) {
    if (skip.has(run.id)) continue;
    const r = await client.post<{ reenqueued: number }>(`/v1/runs/${run.id}/resume`, {});
    units += r.reenqueued;
    resumed++;
  }
  return { runs: resumed, units };
}
