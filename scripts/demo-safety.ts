/**
 * @module demo-safety: `npm run demo:safety` runs the emergent-alignment experiment on the simulated models:
 * a helpful-only base, four narrowly safety-trained constitution models (which generalise) and one that does
 * not (narrow_local), judged by the simulated judge; prints the experiment matrix and the effects.
 */
import type { ApiClient } from "./lib/devstack.ts";
import { type EndpointSpec, registerEndpoints, waitForRuns, withLocalStack } from "./lib/session.ts";

const CONSTITUTIONS = ["deontology", "consequentialism", "virtue_ethics", "subordinate_to_humanity"];
const EXPERIMENT = "sim-narrow-safety";

const SPECS: EndpointSpec[] = [
  { name: "sim-judge", model: "judge", logprobs: false },
  { name: "sim-base", model: "base" },
  ...CONSTITUTIONS.map((c) => ({ name: `sim-${c.replace(/_/g, "-")}`, model: c, base: "sim-base", constitution: c })),
  { name: "sim-narrow-local", model: "narrow_local", base: "sim-base" },
];

async function experimentId(client: ApiClient, ids: Map<string, string>): Promise<string> {
  const { experiments } = await client.get<{ experiments: { id: string; name: string }[] }>("/v1/experiments");
  const found = experiments.find((e) => e.name === EXPERIMENT);
  if (found) return found.id;
  const members = [
    ...CONSTITUTIONS.map((c) => ({ endpointId: ids.get(`sim-${c.replace(/_/g, "-")}`)!, constitution: c, scope: "narrow" })),
    { endpointId: ids.get("sim-narrow-local")!, scope: "narrow", arm: "local-only" },
  ];
  return (await client.post<{ id: string }>("/v1/experiments", { name: EXPERIMENT, baseEndpointId: ids.get("sim-base"), members })).id;
}

await withLocalStack("demo:safety", async ({ client, worker, simBaseUrl }) => {
  const t0 = performance.now();
  const { endpoints } = await registerEndpoints(client, simBaseUrl, SPECS);
  const ids = new Map(endpoints.map((e) => [e.name, e.id]));
  const expId = await experimentId(client, ids);
  const started = await client.post<{ runs: { runId: string }[] }>(`/v1/experiments/${expId}/runs`, {
    judge: { endpointId: ids.get("sim-judge") },
    seed: 2026,
  });
  await waitForRuns(
    client,
    worker,
    started.runs.map((r) => r.runId),
    { label: "safety runs" },
  );
  const res = await fetch(`${worker.url}/v1/experiments/${expId}/report?format=text`);
  console.log(`\n${await res.text()}`);
  console.log(`JSON: ${worker.url}/v1/experiments/${expId}/report`);
  console.log("The simulator is a stand-in with planted propensities: these numbers check the pipeline, they are not results about any model.");
  console.log(`elapsed: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
