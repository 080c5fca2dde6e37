/** @module start: `npm start` runs the worker locally against the model simulator, evaluates the simulated personas and serves (`--once`: report and exit). */

import { startSimulator } from "./simulator/server.ts";
import type { SimulatorHandle } from "./simulator/server.ts";
import { ADMIN_KEY_HINT, api, applyLocalMigrations, ensureDevVars, findFreePort, ROOT, startWorker } from "./lib/devstack.ts";
import type { WorkerHandle } from "./lib/devstack.ts";
import { type Endpoint, type EndpointSpec, registerEndpoints, resumeUnfinishedRuns, waitForRuns } from "./lib/session.ts";

const RUN_TIMEOUT_MS = 5 * 60_000;
interface Run {
  id: string;
  status: string;
  counts: { done: number; failed: number };
}

interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

interface Report {
  persona: {
    dimensions: {
      dimension: string;
      matchRate: number;
      lo: number;
      hi: number;
      n: number;
      unparseable: number;
      failed?: number;
      acquiescence: number | null;
    }[];
  };
  comparison: {
    available: boolean;
    reason?: string;
    projectability?:
      | { unavailable: string }
      | {
          cosine: Interval;
          projectionLength: Interval;
          expectations: { held: number; n: number };
          identification: { ownRanksFirst: number; ownRanksFirstNull?: number; ranking: { constitution: string; cosine: number }[] };
        };
  };
}

/** The simulated personas (scripts/simulator/personas.ts) and what each endpoint declares about itself. */
const SIM_ENDPOINTS: EndpointSpec[] = [
  { name: "sim-base", model: "base" },
  { name: "sim-deontology", model: "deontology", base: "sim-base", constitution: "deontology" },
  { name: "sim-consequentialism", model: "consequentialism", base: "sim-base", constitution: "consequentialism" },
  { name: "sim-virtue-ethics", model: "virtue_ethics", base: "sim-base", constitution: "virtue_ethics" },
  { name: "sim-subordinate", model: "subordinate_to_humanity", base: "sim-base", constitution: "subordinate_to_humanity" },
  // Claims deontology but moves elsewhere: projectability should say so.
  { name: "sim-decoy", model: "decoy", base: "sim-base", constitution: "deontology" },
  { name: "sim-incoherent", model: "incoherent", base: "sim-base" },
];

const f2 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? "—" : x.toFixed(2));
const ci = (est: number, lo: number, hi: number) => (Number.isFinite(est) ? `${f2(est)} [${f2(lo)}, ${f2(hi)}]` : "—");

/** Renders rows as a left-aligned plain-text table (column widths by character count; "—" is one column wide). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

function summaryTable(endpoints: Endpoint[], reports: Map<string, Report>): string {
  const dims: string[] = [];
  for (const r of reports.values()) for (const d of r.persona.dimensions) if (!dims.includes(d.dimension)) dims.push(d.dimension);
  // The projection length (signed change along the signature) is the headline; the cosine is a description (docs/projectability.md).
  const header = ["endpoint", ...dims, "unparseable", "projection", "cosine", "held", "own first (null)"];
  const rows = endpoints.map((ep) => {
    const rep = reports.get(ep.id)!;
    const byDim = new Map(rep.persona.dimensions.map((d) => [d.dimension, d]));
    const dimCells = dims.map((d) => {
      const s = byDim.get(d);
      return s ? ci(s.matchRate, s.lo, s.hi) : "—";
    });
    const unparseable = rep.persona.dimensions.reduce((a, d) => a + d.unparseable, 0);
    const p = rep.comparison.available ? rep.comparison.projectability : undefined;
    const proj = p && "cosine" in p ? p : null;
    return [
      ep.name,
      ...dimCells,
      String(unparseable),
      proj ? ci(proj.projectionLength.estimate, proj.projectionLength.lo, proj.projectionLength.hi) : "—",
      proj ? f2(proj.cosine.estimate) : "—",
      proj ? `${proj.expectations.held}/${proj.expectations.n}` : "—",
      proj
        ? `${f2(proj.identification.ownRanksFirst)} (${proj.identification.ownRanksFirstNull == null ? "—" : f2(proj.identification.ownRanksFirstNull)})`
        : "—",
    ];
  });
  return table(header, rows);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const once = process.argv.slice(2).includes("--once");
  let sim: SimulatorHandle | null = null;
  let worker: WorkerHandle | null = null;
  let stopping: Promise<void> | null = null;

  const stopAll = () => {
    stopping ??= (async () => {
      await Promise.allSettled([worker?.stop(), sim?.close()]);
    })();
    return stopping;
  };
  // Ctrl-C at any point (start-up included) stops the children before exiting.
  let serving = false;
  const onSignal = (sig: string) => {
    if (!serving) console.error(`\n${sig}: stopping`);
    else console.log("\nstopping…");
    stopAll().then(() => process.exit(serving ? 0 : 130));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));

  try {
    const vars = ensureDevVars(ROOT);
    const adminKey = vars.ADMIN_API_KEY;
    if (!adminKey) throw new Error("ADMIN_API_KEY is empty in .dev.vars");
    const migrations = await applyLocalMigrations(ROOT);
    console.log(`D1 (local): ${migrations.applied ? `applied ${migrations.applied} migration(s)` : "migrations up to date"}`);

    sim = await startSimulator({ port: await findFreePort(8788), latencyMs: 2 });
    console.log(`simulator: ${sim.url} (a stand-in for model APIs)`);
    worker = await startWorker({ port: await findFreePort(8787) });
    console.log(`worker:    ${worker.url} (log ${worker.logPath.slice(ROOT.length + 1)})`);

    const client = api(worker.url, adminKey);
    // Queue messages of a previous `npm start` died with its wrangler dev: pick its unfinished runs up again.
    const resumed = await resumeUnfinishedRuns(client);
    if (resumed.runs) console.log(`resumed:   ${resumed.runs} run(s) a previous stop left unfinished (${resumed.units} unit(s) re-enqueued)`);
    const reg = await registerEndpoints(client, `${sim.url}/v1`, SIM_ENDPOINTS);
    console.log(`endpoints: ${reg.endpoints.length} simulated (${reg.created} created, ${reg.updated} updated)`);

    const runs: Run[] = [];
    for (const ep of reg.endpoints) {
      runs.push(await client.post<Run>("/v1/runs", { endpointId: ep.id, suites: ["persona-diagnostic"], samplesPerItem: 1, temperature: 1, seed: 2026 }));
    }
    const finished = await waitForRuns(
      client,
      worker,
      runs.map((r) => r.id),
      { timeoutMs: RUN_TIMEOUT_MS, label: "runs" },
    );

    const reports = new Map<string, Report>();
    for (const ep of reg.endpoints) reports.set(ep.id, await client.get<Report>(`/v1/endpoints/${ep.id}/report`));
    console.log("");
    console.log(summaryTable(reg.endpoints, reports));
    const failed = [...finished.values()].reduce((a, r) => a + r.counts.failed, 0);
    if (failed) console.log(`\n${failed} prompt(s) failed after retries; see the reports' per-dimension "failed" counts.`);
    console.log("");
    // Each model's HTML page beside its JSON report.
    for (const ep of reg.endpoints)
      console.log(`${ep.name.padEnd(22)} page ${worker.url}/reports/endpoints/${ep.id}   JSON ${worker.url}/v1/endpoints/${ep.id}/report`);
    console.log(
      "\nThese endpoints answer from the local model simulator, a stand-in with planted personas: the numbers above check the pipeline and are not results about any model.",
    );
    console.log(`Admin: ${ADMIN_KEY_HINT}.`);

    if (once) {
      console.log(`elapsed: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await stopAll();
      process.exit(0);
    }
    serving = true;
    console.log(`\nserving on ${worker.url} — Ctrl-C to stop`);
    const exit = await worker.exited;
    if (!stopping) {
      // wrangler died on its own while serving.
      console.error(`wrangler dev exited (${exit.signal ?? `exit code ${exit.code}`}); log ${worker.logPath}:\n${worker.logTail()}`);
      await stopAll();
      process.exit(1);
    }
  } catch (err) {
    console.error(`\nnpm start failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  }
}

main();
