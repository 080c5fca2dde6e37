/**
 * Global setup of the `stack` test project (browser and CLI tests): one real local stack for all of them: the
 * model simulator and `wrangler dev` with its own local state (a temporary --persist-to folder, so a
 * developer's `npm start` data is untouched), seeded with simulated endpoints, small runs and an experiment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { api, applyLocalMigrations, ensureDevVars, findFreePort, ROOT, startWorker, type WorkerHandle } from "../../scripts/lib/devstack.ts";
import { startSimulator, type SimulatorHandle } from "../../scripts/simulator/server.ts";

/** The tag every seeded endpoint carries, so pages can be filtered to them while other tests add endpoints. */
export const SEED_TAG = "browser-seed";

export interface StackInfo {
  /** Set when the stack could not start: the tests fail with it (other projects still run). */
  error?: string;
  url: string;
  simUrl: string;
  adminKey: string;
  seed: {
    judge: string;
    base: string;
    deontology: string;
    virtue: string;
    hidden: string;
    runs: Record<string, string>;
    experiment: string;
    tag: string;
  };
  setupMs: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

interface Endpoint {
  id: string;
}
interface Run {
  id: string;
  status: string;
}

export default async function setup(project: TestProject) {
  const t0 = performance.now();
  const persistTo = mkdtempSync(join(tmpdir(), "projectability-stack-"));
  let sim: SimulatorHandle | null = null;
  let worker: WorkerHandle | null = null;
  const teardown = async () => {
    await Promise.allSettled([worker?.stop(), sim?.close()]);
    rmSync(persistTo, { recursive: true, force: true });
  };
  try {
    const vars = ensureDevVars(ROOT, () => undefined);
    await applyLocalMigrations(ROOT, { persistTo });
    sim = await startSimulator({ port: 0, latencyMs: 1 });
    worker = await startWorker({ port: await findFreePort(18787), persistTo });
    const client = api(worker.url, vars.ADMIN_API_KEY);
    const sim1 = `${sim.url}/v1`;
    const reg = (name: string, model: string, extra: Record<string, unknown> = {}) =>
      client.post<Endpoint>("/v1/endpoints", {
        name,
        baseUrl: sim1,
        model,
        apiKey: "sim-key",
        logprobs: true,
        maxConcurrency: 16,
        requestsPerMinute: 100_000,
        ...extra,
      });
    const judge = await reg("judge", "judge", { logprobs: false });
    const base = await reg("sim-base", "base", { tags: [SEED_TAG] });
    const deontology = await reg("sim-deontology", "deontology", { baseEndpointId: base.id, constitution: "deontology", tags: [SEED_TAG, "constitutional"] });
    const virtue = await reg("sim-virtue-ethics", "virtue_ethics", {
      baseEndpointId: base.id,
      constitution: "virtue_ethics",
      tags: [SEED_TAG, "constitutional"],
    });
    const hidden = await reg("sim-private", "consequentialism", { baseEndpointId: base.id, constitution: "consequentialism", tags: [SEED_TAG], private: true });
    const runs: Record<string, string> = {};
    for (const [k, ep] of Object.entries({ base, deontology, virtue, hidden })) {
      runs[k] = (
        await client.post<Run>("/v1/runs", {
          endpointId: ep.id,
          suites: ["persona-diagnostic", "safety"],
          limit: 40,
          seed: 2026,
          judge: { endpointId: judge.id },
        })
      ).id;
    }
    const deadline = Date.now() + 90_000;
    for (const id of Object.values(runs)) {
      for (;;) {
        const r = await client.get<Run>(`/v1/runs/${id}`);
        if (r.status === "completed") break;
        if (r.status === "cancelled" || Date.now() > deadline) throw new Error(`seed run ${id} did not complete (${r.status})`);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    const exp = await client.post<Endpoint>("/v1/experiments", {
      name: "narrow-constitutions",
      description: "Simulated base and two narrowly safety-trained constitution models",
      baseEndpointId: base.id,
      members: [
        { endpointId: deontology.id, constitution: "deontology", scope: "narrow" },
        { endpointId: virtue.id, constitution: "virtue_ethics", scope: "narrow" },
      ],
    });
    const info: StackInfo = {
      url: worker.url,
      simUrl: sim.url,
      adminKey: vars.ADMIN_API_KEY,
      seed: { judge: judge.id, base: base.id, deontology: deontology.id, virtue: virtue.id, hidden: hidden.id, runs, experiment: exp.id, tag: SEED_TAG },
      setupMs: Math.round(performance.now() - t0),
    };
    project.provide("stack", info);
    console.log(`local stack for the stack tests: ${worker.url} (simulator ${sim.url}), seeded in ${(info.setupMs / 1000).toFixed(1)} s`);
  } catch (err) {
    const log = worker?.logTail(30) ?? "";
    await teardown();
    const error = `could not start the local stack: ${err instanceof Error ? err.message : String(err)}${log ? `\n${log}` : ""}`;
    console.error(error);
    project.provide("stack", { error } as StackInfo);
    return;
  }
  return teardown;
}
