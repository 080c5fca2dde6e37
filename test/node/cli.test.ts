/**
 * The CLI against a running local stack (the `stack` project's wrangler dev + simulator): `eval` registers,
 * runs, shows progress, prints the summary, writes the report and gates on lower CI bounds; `report`, `runs`,
 * `endpoints`; usage errors; and the README's exact command through `npx`. Run on the machine's Node 20 when
 * it has one, since the CLI promises Node 20 or newer.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "scripts", "cli", "projectability.mjs");
/** The oldest Node the CLI supports, when the machine has it (Debian's nodejs is 20 here); else the test runner's. */
const NODE = process.env.CLI_NODE || (existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code: number | null) => resolve({ code, stdout, stderr }));
  });
}

const cli = (args: string[], env: Record<string, string | undefined> = {}) => run(NODE, [CLI, ...args], { PROJECTABILITY_API_KEY: undefined, ...env });

describe("projectability CLI", () => {
  const stack = inject("stack");
  const out = mkdtempSync(join(tmpdir(), "projectability-cli-"));
  const common = ["--server", stack.url, "--suite", "persona", "--logprobs", "--limit", "24", "--seed", "77"];

  beforeAll(async () => {
    if (stack.error) throw new Error(stack.error);
    const v = await run(NODE, ["--version"]);
    expect(Number(/^v(\d+)/.exec(v.stdout)![1])).toBeGreaterThanOrEqual(20);
    // A base model for the comparisons below, registered through the CLI too.
    const base = await cli([
      "eval",
      "--base-url",
      `${stack.simUrl}/v1`,
      "--model",
      "base",
      "--name",
      "cli-base",
      ...common,
      "--rpm",
      "100000",
      "--max-concurrency",
      "16",
      "--out",
      join(out, "base.json"),
    ]);
    expect(base.code, base.stderr).toBe(0);
  });

  it("eval registers the endpoint, shows progress, prints the summary, writes the report, and passes a met --fail-under", async () => {
    const file = join(out, "deon.json");
    const r = await cli([
      "eval",
      "--base-url",
      `${stack.simUrl}/v1`,
      "--model",
      "deontology",
      "--name",
      "cli-deon",
      "--base",
      "cli-base",
      "--constitution",
      "deontology",
      ...common,
      "--fail-under",
      "persona.deontology=0.5",
      "--out",
      file,
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/endpoint: cli-deon \(ep_\w+\), registered\n/);
    // Not a terminal: plain progress lines with rate and ETA, and no colour codes anywhere.
    expect(r.stderr).toMatch(/progress: \d+\/\d+ units {2}[\d.]+\/s {2}ETA \S+ \(\d+%\)/);
    expect(r.stdout + r.stderr).not.toMatch(/\x1b\[/);
    expect(r.stdout).toMatch(/metric\s+value \[95% CI\]\s+n\s+better/);
    expect(r.stdout).toMatch(/persona\.deontology\s+\d\.\d\d \[\d\.\d\d, \d\.\d\d\]/);
    expect(r.stdout).toMatch(/projectability\.cosine/);
    expect(r.stdout).toMatch(/tokens: model deontology: \d+ in, \d+ out \(cost unknown: no price\)/);
    expect(r.stdout).toMatch(/fail-under persona\.deontology=0\.5\s+\d\.\d\d\s+pass/);
    const report = JSON.parse(readFileSync(file, "utf8"));
    const served = await (await fetch(`${stack.url}/v1/runs/${report.run.id}/report`)).json();
    expect(report).toEqual(served);
    expect(report.comparison.available).toBe(true);
    expect(r.stdout).toContain(`${stack.url}/reports/runs/${report.run.id}`);
  });

  it("eval exits 1 when a lower CI bound misses --fail-under (and reuses the registered endpoint)", async () => {
    const r = await cli([
      "eval",
      "--base-url",
      `${stack.simUrl}/v1`,
      "--model",
      "deontology",
      "--name",
      "cli-deon",
      ...common,
      "--fail-under",
      "persona.deontology=0.99",
      "--fail-under",
      "persona.utilitarianism=0",
      "--out",
      join(out, "deon2.json"),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("registered before");
    expect(r.stdout).toMatch(/fail-under persona\.deontology=0\.99\s+\d\.\d\d\s+FAIL: lower CI bound \d\.\d\d < 0\.99/);
    expect(r.stdout).toMatch(/fail-under persona\.utilitarianism=0\s+\d\.\d\d\s+pass/);
    const missing = await cli([
      "report",
      JSON.parse(readFileSync(join(out, "deon2.json"), "utf8")).run.id,
      "--server",
      stack.url,
      "--fail-under",
      "safety.macro=0.1",
      "--out",
      join(out, "r.json"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("FAIL: not in this run's metrics");
  });

  it("report gates an existing run; runs and endpoints list what the server has", async () => {
    const ok = await cli([
      "report",
      "--endpoint",
      "cli-deon",
      "--server",
      stack.url,
      "--fail-over",
      "persona.utilitarianism=0.9",
      "--out",
      join(out, "latest.json"),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const runs = await cli(["runs", "--endpoint", "cli-deon", "--server", stack.url]);
    expect(runs.code).toBe(0);
    expect(runs.stdout.trim().split("\n")).toHaveLength(2 + 2);
    const eps = await cli(["endpoints", "--json", "--server", stack.url]);
    const byName = Object.fromEntries(JSON.parse(eps.stdout).map((e: { name: string }) => [e.name, e]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(["cli-base", "cli-deon", "sim-deontology"]));
    // Registration options reach the server: limits, base, constitution; the model key is never shown.
    expect(byName["cli-base"]).toMatchObject({ requestsPerMinute: 100000, maxConcurrency: 16, logprobs: true });
    expect(byName["cli-deon"]).toMatchObject({ requestsPerMinute: 60, constitution: "deontology", baseEndpointId: byName["cli-base"].id });
    const table = await cli(["endpoints", "--server", stack.url]);
    expect(table.stdout).toMatch(/^id\s+name\s+model/);
  });

  it("eval prints the dry run's estimate and, above --max-cost or without a price, refuses (exit 2) unless --yes", async () => {
    const args = ["eval", "--base-url", `${stack.simUrl}/v1`, "--model", "virtue_ethics", "--name", "cli-cost", ...common];
    const runsBefore = (await (await fetch(`${stack.url}/v1/runs?limit=200`, { headers: { authorization: `Bearer ${stack.adminKey}` } })).json()).runs.length;
    const refused = await cli([...args, "--max-cost", "5", "--out", join(out, "cost.json")]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/estimate: 24 calls \(stage 0 ask: 24\), ~\d+ input tokens, at most 24 output tokens/);
    expect(refused.stderr).toContain("the cost cannot be estimated");
    expect(refused.stderr).toContain("nothing was started");
    const runsAfter = (await (await fetch(`${stack.url}/v1/runs?limit=200`, { headers: { authorization: `Bearer ${stack.adminKey}` } })).json()).runs.length;
    expect(runsAfter).toBe(runsBefore);
    const yes = await cli([...args, "--max-cost", "5", "--yes", "--out", join(out, "cost.json")]);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stderr).toMatch(/progress: 24\/24 units/);
  });

  it("export writes a run as an Inspect eval log that validates against Inspect's schema", async (t) => {
    const schemaPath = join(ROOT, "..", "shared", "schemas", "inspect", "eval-log.schema.json");
    if (!existsSync(schemaPath)) return t.skip("../shared/schemas/inspect is absent: no Inspect schema to validate against");
    const { default: Ajv2020 } = await import("ajv/dist/2020.js");
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(JSON.parse(readFileSync(schemaPath, "utf8")));
    const file = join(out, "run.inspect.json");
    const r = await cli(["export", stack.seed.runs.deontology, "--format", "inspect", "-o", file, "--server", stack.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${file}`);
    const log = JSON.parse(readFileSync(file, "utf8"));
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(log.samples.length).toBe(80);
    expect(log.samples.some((s: any) => s.messages.length > 0)).toBe(true);
    const bad = await cli(["export", stack.seed.runs.deontology, "--format", "csv", "--server", stack.url]);
    expect(bad.code).toBe(2);
  });

  it("usage and server errors get their own exit codes and say what is wrong", async () => {
    const usage = await cli(["eval", "--model", "x", "--server", stack.url]);
    expect([usage.code, usage.stderr]).toEqual([2, "error: eval needs --base-url and --model\n"]);
    const gate = await cli(["eval", "--base-url", "http://x/v1", "--model", "x", "--fail-under", "oops", "--server", stack.url]);
    expect(gate.code).toBe(2);
    const judged = await cli(["eval", "--base-url", `${stack.simUrl}/v1`, "--model", "base", "--name", "cli-base", "--suite", "safety", "--server", stack.url]);
    expect(judged.code).toBe(2);
    expect(judged.stderr).toContain("need a judge");
    const wrongKey = await cli(["runs", "--server", stack.url], { PROJECTABILITY_API_KEY: "wrong" });
    expect(wrongKey.code).toBe(3);
    expect(wrongKey.stderr).toContain("401");
    const down = await cli(["endpoints", "--server", "http://127.0.0.1:9"]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain("cannot reach http://127.0.0.1:9");
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--fail-under METRIC=VALUE");
  });

  it("the README's exact command works through npx from the package root", async () => {
    const doc = readFileSync(join(ROOT, "docs", "cli.md"), "utf8");
    const readme = doc.slice(doc.indexOf("## README section"));
    const line = readme.split("\n").find((l: string) => l.startsWith("npx projectability eval") && l.includes("127.0.0.1:8788"));
    expect(line, "docs/cli.md README section has the local npx command").toBeTruthy();
    // The only change: the simulator port `npm start` usually gets is this test stack's, and the server is named by
    // $PROJECTABILITY_SERVER instead of being the default 127.0.0.1:8787. The admin key comes from .dev.vars.
    const args = line!.replace("http://127.0.0.1:8788", stack.simUrl).split(/\s+/).slice(1);
    const r = await run("npx", args, { PROJECTABILITY_API_KEY: undefined, PROJECTABILITY_SERVER: stack.url }, ROOT);
    const written = /^report: (\S+)$/m.exec(r.stdout)?.[1];
    try {
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/pass/);
      expect(JSON.parse(readFileSync(join(ROOT, written!), "utf8")).run.status).toBe("completed");
    } finally {
      // The README command writes its report into the package root: leave nothing behind.
      if (written) rmSync(join(ROOT, written), { force: true });
    }
  });
});
