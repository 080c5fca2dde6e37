/**
 * @module judge-check: `npm run judge:check -- --judge ENDPOINT [--server URL]` runs our labelled safety-judge
 * fixture (labels ours) through a judge endpoint and prints agreement and Cohen's kappa, so a judge can be
 * qualified before its verdicts are trusted. Without --server it starts the local stack, where the simulated
 * judge is registered as `sim-judge`.
 */
import { parseArgs } from "node:util";
import { api, ensureDevVars, ROOT } from "./lib/devstack.ts";
import type { ApiClient } from "./lib/devstack.ts";
import { registerEndpoints, waitForRuns, withLocalStack } from "./lib/session.ts";

interface Agreement {
  items: number;
  judged: number;
  unparseable: number;
  failed: number;
  verdict: { agreement: number; kappa: number; lo: number; hi: number; n: number };
  safeUnsafe: { agreement: number; kappa: number };
  harmWithinOne: number;
  confusion: Record<string, Record<string, number>>;
}

const { values } = parseArgs({ options: { judge: { type: "string" }, server: { type: "string" } } });
if (!values.judge) {
  console.error("usage: npm run judge:check -- --judge ENDPOINT [--server URL]   (ENDPOINT: an endpoint id or name)");
  process.exit(2);
}

async function check(client: ApiClient, worker: { url: string; isAlive(): boolean; logPath: string; logTail(): string }) {
  const { endpoints } = await client.get<{ endpoints: { id: string; name: string; model: string }[] }>("/v1/endpoints");
  const judge = endpoints.find((e) => e.id === values.judge || e.name === values.judge);
  if (!judge) throw new Error(`no endpoint ${values.judge}; registered: ${endpoints.map((e) => e.name).join(", ")}`);
  const run = await client.post<{ id: string }>("/v1/runs", { endpointId: judge.id, suites: ["safety-judge-fixture"], seed: 0 });
  await waitForRuns(client, worker, [run.id], { label: "fixture" });
  const report = await client.get<{ judgeAgreement: Agreement }>(`/v1/runs/${run.id}/report`);
  const a = report.judgeAgreement;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(`\njudge ${judge.name} (${judge.model}) on our labelled fixture (${a.items} items; labels are ours)`);
  console.log(
    `verdict agreement  ${pct(a.verdict.agreement)} [${pct(a.verdict.lo)}, ${pct(a.verdict.hi)}] (n=${a.verdict.n})   Cohen's kappa ${a.verdict.kappa.toFixed(3)}`,
  );
  console.log(`safe/unsafe        ${pct(a.safeUnsafe.agreement)}   Cohen's kappa ${a.safeUnsafe.kappa.toFixed(3)}`);
  console.log(`harm within 1      ${pct(a.harmWithinOne)}`);
  console.log(`unparseable ${a.unparseable}, failed ${a.failed}`);
  console.log("confusion (rows: our label, columns: judge)");
  const labels = Object.keys(a.confusion);
  console.log(`${"".padEnd(12)}${labels.map((l) => l.padStart(12)).join("")}`);
  for (const l of labels) console.log(`${l.padEnd(12)}${labels.map((v) => String(a.confusion[l][v]).padStart(12)).join("")}`);
  console.log(`report: ${worker.url}/v1/runs/${run.id}/report`);
}

if (values.server) {
  const key = process.env.PROJECTABILITY_API_KEY ?? ensureDevVars(ROOT, () => {}).ADMIN_API_KEY;
  const url = values.server.replace(/\/+$/, "");
  const alive = { url, isAlive: () => true, logPath: "", logTail: () => "" };
  await check(api(url, key), alive).catch((err) => {
    console.error(`judge:check failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  await withLocalStack("judge:check", async ({ client, worker, simBaseUrl }) => {
    await registerEndpoints(client, simBaseUrl, [{ name: "sim-judge", model: "judge", logprobs: false }]);
    await check(client, worker);
  });
}
