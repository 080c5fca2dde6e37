/** @module bench: `npm run bench` times 2,000 persona prompts through the local worker against a 50 ms simulator and prints one JSON line. */

import { workerdPeakMemory } from "./lib/devstack.ts";
import { withLocalStack } from "./lib/session.ts";

const SIM_LATENCY_MS = 50;
const MAX_CONCURRENCY = 32;
const ITEMS = 200;
const SAMPLES = 10;
const PROMPTS = ITEMS * SAMPLES;
/** The best any scheduler can do: every prompt costs one simulator latency, 32 at a time. */
const LATENCY_BOUND_S = (PROMPTS * SIM_LATENCY_MS) / 1000 / MAX_CONCURRENCY;
const RUN_TIMEOUT_MS = 3 * 60_000;
const POLL_MS = 50;

interface Run {
  id: string;
  status: string;
  counts: { expected: number; done: number; failed: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
// stdout carries only the JSON line; everything for humans goes to stderr.
const note = (line: string) => process.stderr.write(`${line}\n`);

await withLocalStack(
  "bench",
  async ({ client, worker, sim }) => {
    const stamp = Date.now();
    // The tag only separates this run's simulator stats from any other traffic.
    const model = `base:tag=bench${stamp}`;
    const ep = await client.post<{ id: string }>("/v1/endpoints", {
      name: `bench-${stamp}`,
      baseUrl: `${sim.url}/v1`,
      model,
      apiKey: "sim-local-key",
      logprobs: true,
      maxConcurrency: MAX_CONCURRENCY,
      requestsPerMinute: 1_000_000,
    });
    note(`bench: ${PROMPTS} prompts, simulator latency ${SIM_LATENCY_MS} ms, concurrency ${MAX_CONCURRENCY}, worker ${worker.url}`);

    const t0 = performance.now();
    let run = await client.post<Run>("/v1/runs", { endpointId: ep.id, suites: ["persona-diagnostic"], limit: ITEMS, samplesPerItem: SAMPLES, seed: 1 });
    if (run.counts.expected !== PROMPTS) throw new Error(`the run plans ${run.counts.expected} prompts, expected ${PROMPTS}`);
    while (run.status !== "completed") {
      if (run.status === "cancelled") throw new Error(`run ${run.id} was cancelled`);
      if (!worker.isAlive()) throw new Error(`wrangler dev exited during the bench; log ${worker.logPath}:\n${worker.logTail()}`);
      if (performance.now() - t0 > RUN_TIMEOUT_MS) {
        throw new Error(`run ${run.id} not completed within ${RUN_TIMEOUT_MS / 60_000} minutes (${run.status}, ${run.counts.done + run.counts.failed}/${run.counts.expected}); log ${worker.logPath}`);
      }
      await sleep(POLL_MS);
      run = await client.get<Run>(`/v1/runs/${run.id}`);
    }
    const wall = (performance.now() - t0) / 1000;

    const stats = (await (await fetch(`${sim.url}/_sim/stats?model=${encodeURIComponent(model)}`)).json()) as { models: Record<string, { peakConcurrency: number }> };
    const rss = workerdPeakMemory(worker.pid);
    // Soft-delete the throwaway endpoint so endpoint listings stay readable; its run and report remain.
    await client.del(`/v1/endpoints/${ep.id}`).catch(() => undefined);

    const result = {
      prompts: run.counts.expected,
      wall_s: round(wall, 3),
      prompts_per_s: round(run.counts.expected / wall, 1),
      latency_bound_s: LATENCY_BOUND_S,
      ratio_to_bound: round(wall / LATENCY_BOUND_S, 2),
      sim_peak_concurrency: stats.models[model]?.peakConcurrency ?? null,
      worker_peak_rss_mib: rss,
      units_done: run.counts.done,
      units_failed: run.counts.failed,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  { simLatencyMs: SIM_LATENCY_MS, log: note },
);
