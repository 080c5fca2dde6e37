/** Starts the model simulator once for the whole test run; workers tests reach it through SIM_URL. */
import type { TestProject } from "vitest/node";
import { startSimulator } from "../../scripts/simulator/server.ts";

export default async function setup(project: TestProject) {
  const sim = await startSimulator({ port: 0 });
  project.provide("simUrl" as never, sim.url as never);
  return () => sim.close();
}
