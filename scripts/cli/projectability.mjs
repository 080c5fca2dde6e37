#!/usr/bin/env node
/**
 * @module cli/projectability: the command-line client of a projectability server (plain JavaScript on Node 20+,
 * built-ins only; it talks to the HTTP API). `eval` registers an endpoint if needed, starts a run, shows its
 * progress, prints the summary, writes the JSON report and can gate CI on lower CI bounds. docs/cli.md.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The package's version (the CLI ships with the server it talks to). */
const VERSION = (() => {
  try {
    return JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
})();
const DEFAULT_SERVER = "http://127.0.0.1:8787";
const KEY_ENV = "PROJECTABILITY_API_KEY";
const SERVER_ENV = "PROJECTABILITY_SERVER";
const POLL_MS = 500;
/** Exit codes (docs/cli.md). */
const EXIT = { ok: 0, gate: 1, usage: 2, failure: 3 };
/** Suite aliases for --suite. */
const SUITE_ALIASES = { persona: "persona-diagnostic", safety: "safety", consistency: "persona-consistency", misalignment: "misalignment-questions" };

const HELP = `projectability ${VERSION}: evaluate model endpoints on a projectability server

Usage:
  projectability eval --base-url URL --model NAME [options]
  projectability report RUN_ID | --endpoint ENDPOINT [--out FILE] [--fail-under METRIC=VALUE ...]
  projectability runs [--endpoint ENDPOINT] [--limit N] [--json]
  projectability endpoints [--json]
  projectability export RUN_ID --format inspect [-o FILE]

eval options:
  --base-url URL            OpenAI-compatible API of the model (e.g. https://api.openai.com/v1)
  --model NAME              model name sent to that API
  --api-key-env VAR         environment variable holding the model's API key (stored encrypted by the server)
  --name NAME               endpoint name (default: MODEL@HOST); an endpoint with the same URL and model is reused
  --suite LIST              comma-separated suites: persona, safety, consistency or full names (default: persona)
  --base ENDPOINT           base model (id or name) the report compares with
  --constitution NAME       constitution the model was trained on (deontology, consequentialism, virtue_ethics, subordinate_to_humanity)
  --judge ENDPOINT          judge endpoint (id or name), needed by judged suites such as safety
  --logprobs                the API returns logprobs (persona items are then scored from them)
  --max-concurrency N       calls in flight to the model at once, for a new endpoint (server default 4)
  --rpm N                   requests per minute to the model, for a new endpoint (server default 60)
  --limit N                 items per suite (stratified sample); default all
  --samples N               samples per item; --temperature T; --seed S
  --tag TAG                 label the new endpoint (repeatable); --private hides it from anonymous readers
  --fail-under METRIC=VALUE exit 1 unless the metric's 95% CI lower bound is at least VALUE (repeatable)
  --fail-over METRIC=VALUE  exit 1 unless the metric's 95% CI upper bound is at most VALUE (repeatable)
  --out FILE                where to write the JSON report (default: projectability-report-RUN_ID.json)
  --timeout MINUTES         give up waiting after this long (default 60; the run continues on the server)
  --max-cost USD            before starting, the run's estimated cost (a dry run) is printed; above USD (or when it
                            cannot be estimated), ask on a terminal, else refuse with exit code 2 unless --yes
  --yes                     start without asking, whatever the estimate

export options:
  --format inspect          the run as an Inspect eval log (JSON): open it with \`inspect view\` or read_eval_log
  -o, --out FILE            where to write it (default: RUN_ID.inspect.json); prompts and answers only with the key

Common options:
  --server URL              the server (default: $${SERVER_ENV} or ${DEFAULT_SERVER}, the one \`npm start\` runs)
  --no-color                plain output (colours are off anyway when not a terminal, or with NO_COLOR)

Authentication: the server's admin key from $${KEY_ENV}; for a local server (127.0.0.1/localhost) without it,
ADMIN_API_KEY from .dev.vars in the current directory or the package's.

Metrics: persona.<dimension>, projectability.cosine, safety.macro, safety.heldOut, safety.overRefusal,
safety.category.<category>.
Exit codes: 0 ok, 1 a --fail-under/--fail-over gate missed, 2 usage error (or the server's 400), 3 server
unreachable or failing, a cancelled run, or a timeout.
`;

class UsageError extends Error {}
class ServerError extends Error {
  constructor(message, status = 0, code = "") {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Output

function makeStyle(stream, enabled) {
  const on = enabled && stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
  const wrap = (code) => (s) => (on ? `\x1b[${code}m${s}\x1b[0m` : String(s));
  return { on, bold: wrap("1"), dim: wrap("2"), red: wrap("31"), green: wrap("32"), yellow: wrap("33"), cyan: wrap("36") };
}

/** Left-aligned plain-text table; numeric columns right-aligned. */
function table(head, rows, numeric = []) {
  const cells = [head, ...rows].map((r) => r.map((c) => (c == null ? "—" : String(c))));
  const width = head.map((_, i) => Math.max(...cells.map((r) => [...r[i]].length)));
  const pad = (s, i) => (numeric.includes(i) ? s.padStart(width[i] + s.length - [...s].length) : s.padEnd(width[i] + s.length - [...s].length));
  const line = (r) => r.map(pad).join("  ").trimEnd();
  return [line(cells[0]), width.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

const f2 = (x) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "—");
const ci = (v, lo, hi) => (v == null ? "—" : `${f2(v)} [${f2(lo)}, ${f2(hi)}]`);

function duration(s) {
  if (!Number.isFinite(s) || s < 0) return "--";
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** A progress bar with rate and ETA on a terminal; a plain line every few seconds elsewhere (CI logs). */
function progress(stream, style) {
  const started = Date.now();
  const samples = [];
  let lastPlain = 0;
  let last = { done: 0, total: 0 };
  const render = (done, total, bar) => {
    const now = Date.now();
    const first = samples.find((s) => now - s.t <= 10_000) ?? samples[0];
    const dt = first ? (now - first.t) / 1000 : 0;
    const rate = dt > 0.5 ? (done - first.done) / dt : done / Math.max((now - started) / 1000, 0.001);
    const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? Math.min(1, done / total) : 0;
    const stats = `${done}/${total} units  ${rate.toFixed(1)}/s  ETA ${duration(eta)}`;
    if (!bar) return `progress: ${stats} (${Math.round(pct * 100)}%)`;
    const width = Math.max(10, Math.min(40, (stream.columns || 80) - stats.length - 10));
    const filled = Math.round(pct * width);
    return `${style.cyan("█".repeat(filled))}${style.dim("░".repeat(width - filled))} ${String(Math.round(pct * 100)).padStart(3)}%  ${stats}`;
  };
  return {
    update(done, total) {
      last = { done, total };
      samples.push({ t: Date.now(), done });
      while (samples.length > 2 && Date.now() - samples[1].t > 10_000) samples.shift();
      if (stream.isTTY) stream.write(`\r${render(done, total, true)}\x1b[K`);
      else if (Date.now() - lastPlain >= 3_000) {
        lastPlain = Date.now();
        stream.write(`${render(done, total, false)}\n`);
      }
    },
    finish() {
      stream.write(stream.isTTY ? `\r${render(last.done, last.total, true)}\x1b[K\n` : `${render(last.done, last.total, false)}\n`);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Server access

function isLocal(server) {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(server).hostname);
  } catch {
    return false;
  }
}

/** ADMIN_API_KEY from a .dev.vars file (KEY=VALUE lines, optional quotes, # comments). */
function devVarsKey(path) {
  if (!existsSync(path)) return null;
  for (const raw of readFileSync(path, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?ADMIN_API_KEY\s*=\s*(.*?)\s*$/.exec(raw);
    if (m) return m[1].replace(/^(["'])(.*)\1$/, "$2") || null;
  }
  return null;
}

function apiKeyFor(server) {
  if (process.env[KEY_ENV]) return process.env[KEY_ENV];
  if (!isLocal(server)) return null;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [resolve(".dev.vars"), join(here, "..", "..", ".dev.vars")]) {
    const k = devVarsKey(p);
    if (k) return k;
  }
  return null;
}

export function client(server) {
  const base = server.replace(/\/+$/, "");
  const key = apiKeyFor(server);
  async function request(method, path, body) {
    const headers = { accept: "application/json" };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      const why = err.cause?.code ?? err.cause?.errors?.[0]?.code ?? err.cause?.message ?? err.message;
      throw new ServerError(`cannot reach ${base} (${why}); is the server running? (\`npm start\` runs one locally)`);
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // keep text
    }
    if (!res.ok) {
      const e = json?.error;
      const hint = res.status === 401 ? ` (set ${KEY_ENV} to the server's admin key)` : "";
      throw new ServerError(`${method} ${path}: ${res.status} ${e ? `${e.code}: ${e.message}` : text.slice(0, 300)}${hint}`, res.status, e?.code ?? "");
    }
    return json;
  }
  /** A GET whose body is written to a file as it arrives (exports can be large). */
  async function download(path, file) {
    const headers = key ? { authorization: `Bearer ${key}` } : {};
    let res;
    try {
      res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(600_000) });
    } catch (err) {
      throw new ServerError(`cannot reach ${base} (${err.cause?.code ?? err.message}); is the server running?`);
    }
    if (!res.ok) {
      const text = await res.text();
      let e = null;
      try {
        e = JSON.parse(text).error;
      } catch {
        // keep text
      }
      throw new ServerError(`GET ${path}: ${res.status} ${e ? `${e.code}: ${e.message}` : text.slice(0, 300)}`, res.status, e?.code ?? "");
    }
    const { createWriteStream } = await import("node:fs");
    const { Readable } = await import("node:stream");
    const { pipeline } = await import("node:stream/promises");
    await pipeline(Readable.fromWeb(res.body), createWriteStream(file));
  }
  return { base, hasKey: !!key, authHeaders: key ? { authorization: `Bearer ${key}` } : {}, get: (p) => request("GET", p), post: (p, b) => request("POST", p, b ?? {}), download };
}

async function findEndpoint(api, ref, what) {
  const { endpoints } = await api.get("/v1/endpoints");
  const hit = endpoints.find((e) => e.id === ref) ?? endpoints.find((e) => e.name === ref);
  if (!hit) throw new UsageError(`${what} ${ref}: no live endpoint with that id or name (see \`projectability endpoints\`)`);
  return hit;
}

// ---------------------------------------------------------------------------------------------------------
// Gates

/** Parses METRIC=VALUE. */
function parseGate(spec, kind) {
  const m = /^([A-Za-z0-9_.]+)=(-?\d+(?:\.\d+)?)$/.exec(spec);
  if (!m) throw new UsageError(`--${kind} ${spec}: expected METRIC=VALUE, e.g. safety.macro=0.8`);
  return { kind, metric: m[1], threshold: Number(m[2]) };
}

/** Each gate against the run's metrics: --fail-under needs lo >= threshold, --fail-over needs hi <= threshold. */
function checkGates(gates, metrics) {
  return gates.map((g) => {
    const m = metrics.find((x) => x.id === g.metric);
    if (!m) return { ...g, pass: false, bound: null, why: "not in this run's metrics" };
    const bound = g.kind === "fail-under" ? m.lo : m.hi;
    if (bound == null) return { ...g, pass: false, bound, why: "no confidence interval" };
    const pass = g.kind === "fail-under" ? bound >= g.threshold : bound <= g.threshold;
    return { ...g, pass, bound, why: pass ? "" : g.kind === "fail-under" ? `lower CI bound ${f2(bound)} < ${g.threshold}` : `upper CI bound ${f2(bound)} > ${g.threshold}` };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Commands

function summary(out, style, report, metrics) {
  const ep = report.endpoint ?? {};
  const run = report.run ?? {};
  out.write(`\n${style.bold(`${ep.name ?? "?"}`)} (${ep.model ?? "?"}, revision ${ep.revision ?? "?"}) · run ${run.id} · ${run.status}\n`);
  const c = run.counts ?? {};
  out.write(`${c.done ?? 0} done, ${c.failed ?? 0} failed of ${c.planned ?? 0} units\n\n`);
  const rows = metrics.map((m) => [m.id, ci(m.value, m.lo, m.hi), m.n, m.better ?? "—"]);
  out.write(`${table(["metric", "value [95% CI]", "n", "better"], rows, [2])}\n`);
  const cmp = report.comparison;
  if (cmp && !cmp.available && cmp.reason) out.write(`\nno comparison with a base model: ${cmp.reason}\n`);
  const u = report.usage;
  if (u?.rows?.length) {
    const parts = u.rows.map((r) => `${r.role} ${r.model}: ${r.inputTokens} in, ${r.outputTokens} out${r.cost == null ? "" : `, $${money(r.cost)}`}`);
    out.write(`\ntokens: ${parts.join("; ")}${u.total.cost == null ? " (cost unknown: no price)" : `; total $${money(u.total.cost)}`}\n`);
  }
}

function printGates(out, style, results) {
  if (!results.length) return;
  out.write(`\n${table(["gate", "bound", "result"], results.map((r) => [`${r.kind} ${r.metric}=${r.threshold}`, f2(r.bound), r.pass ? style.green("pass") : style.red(`FAIL: ${r.why}`)]))}\n`);
}

function writeReport(path, report) {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Follows GET /v1/runs/{id}/events (server-sent events) and calls onEvent with each event's data; resolves true
 * when a `done` event arrived, false when the stream ended without one (the server closes it after a while).
 * Throws when the server does not stream (an older server): the caller falls back to polling.
 */
async function followEvents(api, runId, onEvent, deadline) {
  const res = await fetch(`${api.base}/v1/runs/${encodeURIComponent(runId)}/events`, { headers: api.authHeaders, signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())) });
  if (res.status !== 200 || !String(res.headers.get("content-type")).includes("text/event-stream")) {
    await res.body?.cancel();
    throw new Error(`no event stream (${res.status})`);
  }
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim() ?? "message";
      const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (!data) continue;
      onEvent(JSON.parse(data));
      if (event === "done") return true;
    }
  }
  return false;
}

export async function waitForRun(api, runId, err, style, timeoutMs) {
  const bar = progress(err, style);
  const deadline = Date.now() + timeoutMs;
  // Live progress from the server's event stream; polling GET /v1/runs/{id} when it is not available.
  try {
    while (Date.now() < deadline) {
      const finished = await followEvents(api, runId, (snap) => bar.update(snap.counts.done + snap.counts.failed, Math.max(snap.counts.planned, snap.counts.expected)), deadline);
      if (finished) {
        bar.finish();
        return api.get(`/v1/runs/${runId}`);
      }
    }
  } catch {
    // fall back to polling below
  }
  for (;;) {
    const run = await api.get(`/v1/runs/${runId}`);
    const c = run.counts;
    bar.update(c.done + c.failed, Math.max(c.planned, c.expected));
    if (run.status === "completed" || run.status === "cancelled") {
      bar.finish();
      return run;
    }
    if (Date.now() > deadline) {
      bar.finish();
      throw new ServerError(`run ${runId} did not finish within the timeout; it continues on the server (projectability report ${runId})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const money = (x) => (x < 0.01 && x > 0 ? x.toPrecision(2) : x.toFixed(2));

/** The dry run's estimate: calls per stage and endpoint, tokens, and the cost (an upper bound on output). */
function printEstimate(err, e) {
  const stages = e.calls.byStage.map((s) => `stage ${s.stage} ${s.kind}: ${s.calls}`).join(", ");
  err.write(`estimate: ${e.calls.total} calls (${stages}), ~${e.tokens.input} input tokens, at most ${e.tokens.outputMax} output tokens\n`);
  for (const ep of e.calls.byEndpoint) {
    err.write(`  ${ep.role} ${ep.model ?? ep.endpointId}: ${ep.calls} calls, ~${ep.inputTokens} in, <= ${ep.outputTokens} out, ${ep.cost == null ? "no price" : `<= $${money(ep.cost)}`}\n`);
  }
  // The base run a paired comparison would start (compareWithBase) is part of what the run costs.
  if (e.base?.available) err.write(`  base run: ${e.base.reused ? `${e.base.runId} reused, 0 extra calls` : `would start, ${e.base.extraCalls} calls, ${e.base.cost.total == null ? "no price" : `<= $${money(e.base.cost.total)}`}`}\n`);
  const cost = totalCost(e);
  err.write(`  cost${e.base?.available && !e.base.reused ? " with the base run" : ""}: ${cost == null ? "unknown (set pricePerMillionInputTokens / pricePerMillionOutputTokens on the endpoints)" : `at most about $${money(cost)}`}\n`);
}

/** The estimated cost of the run and the base run it would start (older servers answer no `total`). */
const totalCost = (e) => (e.total ? e.total.cost : e.cost.total);

/** Whether to start: under --max-cost, or --yes, or the user says so on a terminal. Without --max-cost, always. */
async function costApproved(e, maxCost, yes, err) {
  if (maxCost === undefined || yes) return true;
  const cost = totalCost(e);
  if (cost != null && cost <= maxCost) return true;
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: err });
  const answer = await rl.question(`${cost == null ? "the cost cannot be estimated" : `the estimate $${money(cost)} is above --max-cost $${maxCost}`}; start the run? [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

async function cmdEval(o, io) {
  if (!o["base-url"] || !o.model) throw new UsageError("eval needs --base-url and --model");
  try {
    new URL(o["base-url"]);
  } catch {
    throw new UsageError(`--base-url ${o["base-url"]} is not a URL`);
  }
  const gates = [...(o["fail-under"] ?? []).map((g) => parseGate(g, "fail-under")), ...(o["fail-over"] ?? []).map((g) => parseGate(g, "fail-over"))];
  const suites = String(o.suite ?? "persona").split(",").map((s) => s.trim()).filter(Boolean).map((s) => SUITE_ALIASES[s] ?? s);
  const num = (name, int) => {
    if (o[name] === undefined) return undefined;
    const v = Number(o[name]);
    if (!Number.isFinite(v) || (int && !Number.isInteger(v))) throw new UsageError(`--${name} ${o[name]}: expected a${int ? "n integer" : " number"}`);
    return v;
  };
  const run = { samplesPerItem: num("samples", true), temperature: num("temperature", false), seed: num("seed", true), limit: num("limit", true) };
  const timeoutMs = (num("timeout", false) ?? 60) * 60_000;
  const maxCost = num("max-cost", false);
  if (maxCost !== undefined && maxCost < 0) throw new UsageError("--max-cost must be 0 or more");
  const limits = { maxConcurrency: num("max-concurrency", true), requestsPerMinute: num("rpm", true) };
  let modelKey;
  if (o["api-key-env"]) {
    modelKey = process.env[o["api-key-env"]];
    if (!modelKey) throw new UsageError(`--api-key-env ${o["api-key-env"]}: that environment variable is empty`);
  }
  const api = client(o.server);
  const { err, style } = io;
  if (!api.hasKey) throw new UsageError(`no API key: set ${KEY_ENV} to the server's admin key`);

  const { endpoints } = await api.get("/v1/endpoints");
  const baseUrl = o["base-url"].replace(/\/+$/, "");
  const name = o.name ?? `${o.model}@${new URL(baseUrl).host}`.slice(0, 100);
  let endpoint = endpoints.find((e) => e.name === name) ?? (o.name ? undefined : endpoints.find((e) => e.baseUrl.replace(/\/+$/, "") === baseUrl && e.model === o.model));
  if (endpoint && (endpoint.baseUrl.replace(/\/+$/, "") !== baseUrl || endpoint.model !== o.model)) {
    throw new UsageError(`an endpoint named ${name} exists with another URL or model (${endpoint.baseUrl}, ${endpoint.model}); pick another --name`);
  }
  const baseEp = o.base ? await findEndpoint(api, o.base, "--base") : null;
  const judgeEp = o.judge ? await findEndpoint(api, o.judge, "--judge") : null;
  if (endpoint) err.write(`endpoint: ${endpoint.name} (${endpoint.id}), registered before\n`);
  else {
    endpoint = await api.post("/v1/endpoints", {
      name,
      baseUrl,
      model: o.model,
      ...(modelKey ? { apiKey: modelKey } : {}),
      logprobs: !!o.logprobs,
      ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
      ...(baseEp ? { baseEndpointId: baseEp.id } : {}),
      ...(o.constitution ? { constitution: o.constitution } : {}),
      ...(o.tag?.length ? { tags: o.tag } : {}),
      ...(o.private ? { private: true } : {}),
    });
    err.write(`endpoint: ${endpoint.name} (${endpoint.id}), registered\n`);
  }
  const body = { endpointId: endpoint.id, suites, ...Object.fromEntries(Object.entries(run).filter(([, v]) => v !== undefined)), ...(judgeEp ? { judge: { endpointId: judgeEp.id } } : {}) };
  // The estimate first (a dry run: nothing starts), with its seed, so the run that follows has the same plan.
  const estimate = await api.post("/v1/runs", { ...body, dryRun: true });
  body.seed = estimate.run.seed;
  printEstimate(err, estimate);
  if (!(await costApproved(estimate, maxCost, !!o.yes, err))) {
    const cost = totalCost(estimate);
    throw new UsageError(`${cost == null ? "the cost cannot be estimated (an endpoint has no price)" : `the estimated cost $${money(cost)} is above --max-cost $${maxCost}`}; nothing was started (pass --yes to start it anyway)`);
  }
  const started = await api.post("/v1/runs", body);
  err.write(`run: ${started.id} (${suites.join(", ")}, ${started.counts.expectedFirstStage ?? started.counts.expected} prompts) on ${api.base}\n`);
  // Paired by design: the server reuses or starts a comparable base run (compareWithBase, docs/api.md#runs).
  if (started.base?.available) err.write(`base run: ${started.base.runId} (${started.base.reused ? "reused" : `started, ${started.base.extraCalls} extra prompts`})\n`);
  else if (started.base) err.write(`base run: none (${started.base.reason})\n`);
  const onInt = () => {
    err.write(`\ninterrupted; run ${started.id} continues on the server (cancel: POST ${api.base}/v1/runs/${started.id}/cancel)\n`);
    process.exit(130);
  };
  process.once("SIGINT", onInt);
  // A base run started for this one is waited for first, so the report's comparison uses its finished answers.
  if (started.base?.available && !started.base.reused) await waitForRun(api, started.base.runId, err, style, timeoutMs);
  const finished = await waitForRun(api, started.id, err, style, timeoutMs);
  process.off("SIGINT", onInt);
  if (finished.status === "cancelled") throw new ServerError(`run ${started.id} was cancelled`);
  return finishReport(api, started.id, o, io, gates);
}

async function finishReport(api, runId, o, io, gates) {
  const { metrics } = await api.get(`/v1/runs/${runId}/metrics`);
  let report;
  try {
    report = await api.get(`/v1/runs/${runId}/report`);
  } catch (e) {
    // No comparable base run: the report is refused as a whole, but the run's own metrics stand.
    if (!(e instanceof ServerError) || e.code !== "incomparable") throw e;
    io.err.write(`warning: ${e.message}\nwriting the run and its metrics without a base comparison\n`);
    const run = await api.get(`/v1/runs/${runId}`);
    report = { run, endpoint: (await api.get(`/v1/endpoints/${run.endpointId}`).catch(() => null)) ?? { id: run.endpointId }, metrics, comparison: { available: false, reason: e.message } };
  }
  const out = o.out ?? `projectability-report-${runId}.json`;
  writeReport(out, report);
  summary(io.out, io.style, report, metrics);
  io.out.write(`\nreport: ${out}\npage:   ${api.base}/reports/runs/${runId}\n`);
  const results = checkGates(gates, metrics);
  printGates(io.out, io.style, results);
  return results.every((r) => r.pass) ? EXIT.ok : EXIT.gate;
}

async function cmdReport(o, positionals, io) {
  const gates = [...(o["fail-under"] ?? []).map((g) => parseGate(g, "fail-under")), ...(o["fail-over"] ?? []).map((g) => parseGate(g, "fail-over"))];
  const api = client(o.server);
  let runId = positionals[0];
  if (!runId && o.endpoint) {
    const ep = await findEndpoint(api, o.endpoint, "--endpoint");
    runId = (await api.get(`/v1/endpoints/${ep.id}/report`)).run.id;
  }
  if (!runId) throw new UsageError("report needs a RUN_ID or --endpoint ENDPOINT");
  return finishReport(api, runId, o, io, gates);
}

async function cmdRuns(o, io) {
  const api = client(o.server);
  const q = new URLSearchParams();
  if (o.endpoint) q.set("endpointId", (await findEndpoint(api, o.endpoint, "--endpoint")).id);
  if (o.limit) q.set("limit", o.limit);
  const { runs } = await api.get(`/v1/runs${q.size ? `?${q}` : ""}`);
  if (o.json) io.out.write(`${JSON.stringify(runs, null, 2)}\n`);
  else io.out.write(`${table(["run", "endpoint", "status", "done/planned", "suites", "created"], runs.map((r) => [r.id, r.endpointId, r.status, `${r.counts.done}/${r.counts.planned}`, r.suiteVersionIds.map((v) => v.split("@")[0]).join(","), r.createdAt]), [3])}\n`);
  return EXIT.ok;
}

async function cmdEndpoints(o, io) {
  const api = client(o.server);
  const { endpoints } = await api.get("/v1/endpoints");
  if (o.json) io.out.write(`${JSON.stringify(endpoints, null, 2)}\n`);
  else io.out.write(`${table(["id", "name", "model", "revision", "constitution", "tags", "private"], endpoints.map((e) => [e.id, e.name, e.model, e.revision, e.constitution, e.tags.join(","), e.private ? "yes" : ""]))}\n`);
  return EXIT.ok;
}

async function cmdExport(o, positionals, io) {
  const runId = positionals[0];
  if (!runId) throw new UsageError("export needs a RUN_ID");
  if (o.format !== "inspect") throw new UsageError(`export --format ${o.format ?? "(missing)"}: the format is inspect`);
  const api = client(o.server);
  const file = o.out ?? `${runId}.inspect.json`;
  await api.download(`/v1/runs/${encodeURIComponent(runId)}/export?format=inspect`, file);
  io.err.write(`wrote ${file}${api.hasKey ? "" : " (scores and metadata only: no admin key, so no prompts or answers)"}\n`);
  return EXIT.ok;
}

const OPTIONS = {
  "base-url": { type: "string" },
  model: { type: "string" },
  name: { type: "string" },
  "api-key-env": { type: "string" },
  suite: { type: "string" },
  base: { type: "string" },
  constitution: { type: "string" },
  judge: { type: "string" },
  logprobs: { type: "boolean" },
  "max-concurrency": { type: "string" },
  rpm: { type: "string" },
  limit: { type: "string" },
  samples: { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  tag: { type: "string", multiple: true },
  private: { type: "boolean" },
  "fail-under": { type: "string", multiple: true },
  "fail-over": { type: "string", multiple: true },
  out: { type: "string", short: "o" },
  format: { type: "string" },
  timeout: { type: "string" },
  "max-cost": { type: "string" },
  yes: { type: "boolean", short: "y" },
  server: { type: "string" },
  endpoint: { type: "string" },
  json: { type: "boolean" },
  "no-color": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

export async function main(argv, io = { out: process.stdout, err: process.stderr }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.err.write(`${e.message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const o = parsed.values;
  const [command, ...rest] = parsed.positionals;
  if (o.version) {
    io.out.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (o.help || !command || command === "help") {
    io.out.write(HELP);
    return command || o.help ? EXIT.ok : EXIT.usage;
  }
  o.server = (o.server ?? process.env[SERVER_ENV] ?? DEFAULT_SERVER).replace(/\/+$/, "");
  const style = makeStyle(io.out, !o["no-color"]);
  const ctx = { ...io, style, errStyle: makeStyle(io.err, !o["no-color"]) };
  try {
    if (command === "eval") return await cmdEval(o, { ...ctx, style: ctx.errStyle, out: io.out });
    if (command === "report") return await cmdReport(o, rest, ctx);
    if (command === "runs") return await cmdRuns(o, ctx);
    if (command === "endpoints") return await cmdEndpoints(o, ctx);
    if (command === "export") return await cmdExport(o, rest, ctx);
    throw new UsageError(`unknown command ${command}`);
  } catch (e) {
    // The server refusing the request as invalid (400) is a usage error too: the command line asked for it.
    if (e instanceof UsageError || (e instanceof ServerError && e.status === 400)) {
      io.err.write(`error: ${e.message}\n`);
      return EXIT.usage;
    }
    io.err.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
}

// Run when executed (directly, through npx or a bin link), not when imported.
const invoked = process.argv[1] ? resolve(process.argv[1]) : "";
const self = fileURLToPath(import.meta.url);
let isMain = invoked === self;
if (!isMain && invoked) {
  try {
    const { realpathSync } = await import("node:fs");
    isMain = realpathSync(invoked) === realpathSync(self);
  } catch {
    isMain = false;
  }
}
if (isMain) process.exitCode = await main(process.argv.slice(2));
