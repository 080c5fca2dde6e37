/**
 * @module demo-training: `npm run demo:training` runs the whole training loop locally: a narrow deontology
 * Constitutional-AI dataset from the simulated helpful-only model, fine-tuning on the simulated OpenAI-compatible
 * provider, its signed completion webhook, registration and evaluation of the new model, and its report against the base.
 */
import { startSimulator } from "./simulator/server.ts";
import type { SimulatorHandle } from "./simulator/server.ts";
import { api, applyLocalMigrations, ensureDevVars, findFreePort, ROOT, startWorker } from "./lib/devstack.ts";
import type { ApiClient, WorkerHandle } from "./lib/devstack.ts";
import { registerEndpoints, SIM_API_KEY, waitForRuns } from "./lib/session.ts";

const SEED = 2026;
const EVALUATE = { suites: ["persona-diagnostic", "safety"], samplesPerItem: 1, temperature: 1, seed: SEED };
const JOB_TIMEOUT_MS = 10 * 60_000;

interface Job {
  id: string;
  status: string;
  datasetId: string | null;
  provider: { jobId: string | null; status: string | null };
  fineTunedModel: string | null;
  endpointId: string | null;
  evaluationRun: { id: string; status: string | null } | null;
  error: string | null;
  events: { at: string; source: string; status: string }[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const f2 = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "—");
const fp = (p: unknown) => (typeof p !== "number" || !Number.isFinite(p) ? "—" : p < 0.001 ? "<0.001" : p.toFixed(3));
const ci = (r: { rate?: number; matchRate?: number; estimate?: number; lo: number; hi: number } | undefined) =>
  r ? `${f2(r.rate ?? r.matchRate ?? r.estimate)} [${f2(r.lo)}, ${f2(r.hi)}]` : "—";

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

/** Follows the job, printing each new event, until it finishes. */
async function followJob(client: ApiClient, worker: WorkerHandle, jobId: string): Promise<Job> {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  let shown = 0;
  let lastDataset = "";
  for (;;) {
    if (!worker.isAlive()) throw new Error(`wrangler dev exited; log ${worker.logPath}:\n${worker.logTail()}`);
    const job = await client.get<Job>(`/v1/training-jobs/${jobId}`);
    if (job.events.length > shown && lastDataset) {
      process.stderr.write("\n");
      lastDataset = "";
    }
    for (const e of job.events.slice(shown)) console.log(`  ${e.at.slice(11, 19)}  ${e.source.padEnd(8)} ${e.status}`);
    shown = job.events.length;
    if (job.datasetId && job.status === "dataset") {
      const ds = await client.get<{ status: string; progress: { done: number; planned: number } | null }>(`/v1/datasets/${job.datasetId}`);
      const line = ds.progress ? `  dataset ${ds.status}: ${ds.progress.done}/${ds.progress.planned} calls` : "";
      // A live line on a terminal; logs get only the events.
      if (line && line !== lastDataset && process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
      lastDataset = line;
    }
    if (["completed", "failed", "cancelled"].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`training job ${jobId} still ${job.status} after ${JOB_TIMEOUT_MS / 60_000} min`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let sim: SimulatorHandle | null = null;
  let worker: WorkerHandle | null = null;
  const stopAll = () => Promise.allSettled([worker?.stop(), sim?.close()]);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stopAll().then(() => process.exit(130)));
  try {
    const vars = ensureDevVars(ROOT);
    if (!vars.WEBHOOK_SECRET) throw new Error("WEBHOOK_SECRET is empty in .dev.vars");
    await applyLocalMigrations(ROOT);
    sim = await startSimulator({ port: await findFreePort(8788), latencyMs: 2, finetuneMs: 1500 });
    const port = await findFreePort(8787);
    const origin = `http://127.0.0.1:${port}`;
    // The worker signs dataset links and callbacks for its own origin; the pipeline re-checks every 20 s without events.
    worker = await startWorker({ port, vars: { PUBLIC_BASE_URL: origin, PIPELINE_WAIT_SECONDS: "20", PIPELINE_RETRY_DELAY_MS: "500" } });
    console.log(`simulator: ${sim.url} (a stand-in for model and fine-tuning APIs)   worker: ${worker.url}`);
    const client = api(worker.url, vars.ADMIN_API_KEY);

    const { endpoints } = await registerEndpoints(client, `${sim.url}/v1`, [
      { name: "sim-base", model: "base" },
      { name: "sim-critic", model: "base", logprobs: false },
      { name: "sim-judge", model: "judge", logprobs: false },
    ]);
    const id = new Map(endpoints.map((e) => [e.name, e.id]));
    // The simulated provider's dashboard: send this account's events to our webhook, signed with our secret.
    await fetch(`${sim.url}/_sim/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${SIM_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `${origin}/v1/webhooks/training`, secret: vars.WEBHOOK_SECRET }),
    });

    console.log("\n1. the base (helpful-only) model on the evaluation suites");
    const judge = { endpointId: id.get("sim-judge") };
    const baseRun = await client.post<{ id: string }>("/v1/runs", { endpointId: id.get("sim-base"), ...EVALUATE, judge });
    await waitForRuns(client, worker, [baseRun.id], { label: "base evaluation" });

    console.log("\n2. training job: narrow deontology dataset -> simulated fine-tuning -> signed webhook -> new endpoint -> evaluation");
    const job = await client.post<Job>("/v1/training-jobs", {
      dataset: { constitution: "deontology", scope: "narrow", helpfulModel: id.get("sim-base"), critic: id.get("sim-critic"), seed: SEED },
      provider: { type: "openai", baseUrl: `${sim.url}/v1`, apiKey: SIM_API_KEY },
      evaluate: { ...EVALUATE, judge },
    });
    console.log(`  job ${job.id}`);
    const done = await followJob(client, worker, job.id);
    if (done.status !== "completed") throw new Error(`the training job ${done.status}: ${done.error ?? "no detail"}`);
    const ds = await client.get<{
      id: string;
      counts: { prompts: number; samples: number; droppedTotal: number; perCategory: Record<string, { samples: number }> };
      leakage: { release: { passed: boolean; evaluation: { suiteVersions: number; items: number } } };
    }>(`/v1/datasets/${done.datasetId}`);
    console.log(
      `  dataset ${ds.id}: ${ds.counts.samples} samples from ${ds.counts.prompts} prompts (${Object.entries(ds.counts.perCategory)
        .map(([c, v]) => `${c} ${v.samples}`)
        .join(
          ", ",
        )}), ${ds.counts.droppedTotal} dropped; leakage check passed against ${ds.leakage.release.evaluation.items} items of ${ds.leakage.release.evaluation.suiteVersions} suite versions`,
    );
    console.log(`  trained model ${done.fineTunedModel} -> endpoint ${done.endpointId}`);
    await waitForRuns(client, worker, [done.evaluationRun!.id], { label: "finetuned evaluation" });

    console.log("\n3. the finetuned model against its base");
    const report = await client.get<any>(`/v1/runs/${done.evaluationRun!.id}/report`);
    const baseReport = await client.get<any>(`/v1/runs/${baseRun.id}/report`);
    const cmp = report.comparison;
    if (!cmp?.available) throw new Error(`no comparison with the base: ${cmp?.reason}`);
    const deltas = new Map<string, any>((cmp.deltas?.dimensions ?? cmp.deltas ?? []).map((d: any) => [d.dimension, d]));
    console.log(
      table(
        ["persona dimension", "base", "deontology/narrow", "delta [95% CI]", "p (Holm)"],
        report.persona.dimensions.map((d: any) => {
          const b = cmp.base.find((x: any) => x.dimension === d.dimension);
          const dl = deltas.get(d.dimension);
          return [d.dimension, ci(b), ci(d), dl ? `${f2(dl.delta ?? dl.estimate)} [${f2(dl.lo)}, ${f2(dl.hi)}]` : "—", dl ? fp(dl.pHolm ?? dl.pValue) : "—"];
        }),
      ),
    );
    const p = cmp.projectability;
    if (p?.cosine)
      console.log(
        `projectability (ours): cosine ${ci(p.cosine)}, expectations held ${p.expectations.held}/${p.expectations.n}, own constitution ranks first ${f2(p.identification?.ownRanksFirst)}`,
      );
    const cats = new Map<string, any>(baseReport.safety.categories.map((c: any) => [c.category, c]));
    const j = report.safety.judge;
    console.log(
      `\nsafe-response rate by category (judge model ${j.model} at ${j.revision}, rubric ${j.rubricVersion}); the model was trained on harassment_bullying + illegal_activities only`,
    );
    console.log(
      table(
        ["category", "base", "deontology/narrow", "n"],
        report.safety.categories.map((c: any) => [c.category, ci(cats.get(c.category)), ci(c), String(c.n)]),
      ),
    );
    console.log(`held-out subcategories: base ${ci(baseReport.safety.heldOut)}  finetuned ${ci(report.safety.heldOut)}`);
    console.log(`\nreport: ${worker.url}/v1/runs/${done.evaluationRun!.id}/report   job: ${worker.url}/v1/training-jobs/${done.id} (admin)`);
    console.log("The simulator is a stand-in with planted behaviour: these numbers check the pipeline, they are not results about any model.");
    console.log(`elapsed: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await stopAll();
    process.exit(0);
  } catch (err) {
    console.error(`\ndemo:training failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  }
}

main();
