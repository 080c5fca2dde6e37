/** @module OpenAI-compatible model simulator: a local stand-in for hosted providers, never a source of results. */

import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  applyOddShape,
  createAttemptTracker,
  decideFault,
  decideOddShape,
  defaultModelOptions,
  errorBody,
  FAULT_KINDS,
  faultReply,
  OPT_IN_FAULT_KINDS,
  parseModelString,
} from "./faults.ts";
import { createFineTuning } from "./finetune.ts";
import type { FaultKind } from "./faults.ts";
import { isPersonaId, PERSONA_IDS, PERSONAS } from "./personas.ts";
import { hexHash } from "./random.ts";
import { respond } from "./respond.ts";
import type { ChatRequest } from "./respond.ts";
import { DEFAULT_SAFETY_SUITE_PATH, loadSafetySuite } from "./safety.ts";
import type { SafetyIndex } from "./safety.ts";
import { DEFAULT_PERSONA_SUITE_PATH, loadPersonaSuite } from "./suite.ts";
import type { SuiteIndex } from "./suite.ts";

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Default added latency in ms (a model string's `latency=` overrides it). */
  latencyMs?: number;
  personaSuitePath?: string;
  /** Safety suite (default `src/suites/builtin/safety.yaml`). */
  safetySuitePath?: string;
  /** How long a simulated fine-tuning job trains, in ms (default 150). */
  finetuneMs?: number;
}

export interface SimulatorHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const WINDOW_MS = 60_000;
const SUITE_RECHECK_MS = 2_000;

interface ModelStats {
  requests: number;
  completed: number;
  aborted: number;
  inFlight: number;
  peakConcurrency: number;
  maxRequestsPerMinute: number;
  requestIds: Set<string>;
  /** Requests per extra header name (headers beyond what the openai SDK sends), and the distinct values seen. */
  extraHeaders: Map<string, { count: number; values: Set<string> }>;
  statusCounts: Record<string, number>;
  faults: Record<FaultKind, number>;
  /** Answers of odd shape sent, by shape. */
  oddShapes: Record<string, number>;
  /** Per request id (the client sends the unit id): answers fully sent (200 with a completion), calls now open. */
  answered: Map<string, number[]>;
  openById: Map<string, number>;
  /** Every call per request id: arrival and end (epoch ms), the status sent (null: the client went away first). */
  calls: Map<string, { at: number; end: number; status: number | null }[]>;
  /** Request ids that had two calls open at the same moment. */
  overlapping: Set<string>;
  /** Start times inside the current 60 s window, oldest first from `head`. */
  starts: number[];
  head: number;
}

/** Headers the openai SDK and Node's fetch send on their own; any other header is an endpoint's extra header. */
const SDK_HEADERS = new Set([
  "host",
  "connection",
  "content-type",
  "content-length",
  "accept",
  "accept-encoding",
  "accept-language",
  "authorization",
  "user-agent",
  "x-client-request-id",
  "sec-fetch-mode",
  "idempotency-key",
  "openai-organization",
  "openai-project",
]);

function newStats(): ModelStats {
  const faults = {} as Record<FaultKind, number>;
  for (const k of [...FAULT_KINDS, ...OPT_IN_FAULT_KINDS]) faults[k] = 0;
  return {
    requests: 0,
    completed: 0,
    aborted: 0,
    inFlight: 0,
    peakConcurrency: 0,
    maxRequestsPerMinute: 0,
    requestIds: new Set(),
    extraHeaders: new Map(),
    statusCounts: {},
    faults,
    oddShapes: {},
    answered: new Map(),
    openById: new Map(),
    calls: new Map(),
    overlapping: new Set(),
    starts: [],
    head: 0,
  };
}

function statsView(s: ModelStats) {
  return {
    requests: s.requests,
    completed: s.completed,
    aborted: s.aborted,
    inFlight: s.inFlight,
    peakConcurrency: s.peakConcurrency,
    maxRequestsPerMinute: s.maxRequestsPerMinute,
    uniqueRequestIds: s.requestIds.size,
    extraHeaders: Object.fromEntries([...s.extraHeaders].map(([k, v]) => [k, { count: v.count, values: [...v.values] }])),
    statusCounts: { ...s.statusCounts },
    faults: { ...s.faults },
    oddShapes: { ...s.oddShapes },
    // The double-call log: request ids answered more than once, and ids with two calls open at once.
    answeredTwice: [...s.answered.values()].filter((at) => at.length > 1).length,
    overlappingIds: s.overlapping.size,
    // When each answered call of a twice-answered id arrived (epoch ms), so a caller can tell a re-ask after a crash from a double call.
    answeredTwiceAt: Object.fromEntries([...s.answered].filter(([, at]) => at.length > 1).slice(0, 1000)),
    // Every call of those ids, faults and abandoned calls included, so a double call's history can be read.
    callsOfAnsweredTwice: Object.fromEntries(
      [...s.answered]
        .filter(([, at]) => at.length > 1)
        .slice(0, 1000)
        .map(([id]) => [id, s.calls.get(id) ?? []]),
    ),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolveBody, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolveBody(null);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolveBody(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const host = opts.host ?? "127.0.0.1";
  const defaultLatency = opts.latencyMs ?? 0;
  const suitePath = opts.personaSuitePath ?? DEFAULT_PERSONA_SUITE_PATH;
  const safetyPath = opts.safetySuitePath ?? DEFAULT_SAFETY_SUITE_PATH;
  let suite: SuiteIndex = loadPersonaSuite(suitePath);
  let safety: SafetyIndex = loadSafetySuite(safetyPath);
  let suiteCheckedAt = Date.now();
  const stats = new Map<string, ModelStats>();
  const attempts = createAttemptTracker();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  // Fine-tuning services (finetune.ts); trained models are served by the chat route below.
  let origin = "";
  const fineTune = createFineTuning({ origin: () => origin, trainMs: opts.finetuneMs });

  // Re-read the suites (mtime-cached) now and then, so a long-running `npm start` sees edits.
  function recheckSuites(): void {
    const now = Date.now();
    if (now - suiteCheckedAt <= SUITE_RECHECK_MS) return;
    suiteCheckedAt = now;
    try {
      suite = loadPersonaSuite(suitePath);
    } catch {
      // Keep the last good index while a colleague's edit is half-written.
    }
    try {
      safety = loadSafetySuite(safetyPath);
    } catch {
      // Likewise.
    }
  }

  function currentSuite(): SuiteIndex {
    recheckSuites();
    return suite;
  }

  function currentSafety(): SafetyIndex {
    recheckSuites();
    return safety;
  }

  function statsFor(model: string): ModelStats {
    let s = stats.get(model);
    if (!s) {
      s = newStats();
      stats.set(model, s);
    }
    return s;
  }

  /** Count a request from arrival to response end (or socket close), whatever happens in between. */
  function track(s: ModelStats, requestId: string, res: ServerResponse): void {
    const now = performance.now();
    const call = { at: Date.now(), end: 0, status: null as number | null };
    s.calls.set(requestId, [...(s.calls.get(requestId) ?? []), call]);
    s.requests++;
    s.requestIds.add(requestId);
    s.inFlight++;
    const open = (s.openById.get(requestId) ?? 0) + 1;
    s.openById.set(requestId, open);
    if (open > 1) s.overlapping.add(requestId);
    if (s.inFlight > s.peakConcurrency) s.peakConcurrency = s.inFlight;
    s.starts.push(now);
    while (s.starts[s.head] <= now - WINDOW_MS) s.head++;
    if (s.head > 1024 && s.head * 2 > s.starts.length) {
      s.starts = s.starts.slice(s.head);
      s.head = 0;
    }
    const inWindow = s.starts.length - s.head;
    if (inWindow > s.maxRequestsPerMinute) s.maxRequestsPerMinute = inWindow;
    let done = false;
    const finish = (sent: boolean) => {
      if (done) return;
      done = true;
      call.end = Date.now();
      if (sent) call.status = res.statusCode;
      s.inFlight--;
      const open = (s.openById.get(requestId) ?? 1) - 1;
      if (open > 0) s.openById.set(requestId, open);
      else s.openById.delete(requestId);
      if (sent) {
        s.completed++;
        const key = String(res.statusCode);
        s.statusCounts[key] = (s.statusCounts[key] ?? 0) + 1;
      } else {
        s.aborted++;
      }
    };
    res.once("finish", () => finish(true));
    res.once("close", () => finish(res.writableFinished));
  }

  /** Run `fn` after `ms` unless the client has gone away; never blocks the event loop. */
  function later(res: ServerResponse, ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) fn();
    }, ms);
    timers.add(timer);
    res.once("close", () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  }

  async function chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) {
      sendJson(res, 413, errorBody("Request body too large.", "invalid_request_error", "body_too_large"));
      return;
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(raw) as ChatRequest;
    } catch {
      sendJson(res, 400, errorBody("Request body is not valid JSON.", "invalid_request_error", "invalid_json"));
      return;
    }
    if (!body || typeof body !== "object" || typeof body.model !== "string" || body.model === "") {
      sendJson(res, 400, errorBody("`model` is required.", "invalid_request_error", "missing_model"));
      return;
    }
    const header = req.headers["x-client-request-id"];
    const requestId = (Array.isArray(header) ? header[0] : header) || `body-${hexHash(raw)}`;
    const s = statsFor(body.model);
    track(s, requestId, res);
    for (const [name, value] of Object.entries(req.headers)) {
      if (SDK_HEADERS.has(name) || name.startsWith("x-stainless-") || value === undefined) continue;
      const h = s.extraHeaders.get(name) ?? { count: 0, values: new Set<string>() };
      h.count++;
      if (h.values.size < 5) h.values.add(Array.isArray(value) ? value.join(",") : value);
      s.extraHeaders.set(name, h);
    }

    const auth = req.headers.authorization ?? "";
    if (!/^Bearer\s+\S+/i.test(auth)) {
      sendJson(res, 401, errorBody("Missing or empty API key (Authorization: Bearer <key>).", "invalid_request_error", "invalid_api_key"));
      return;
    }
    const trained = fineTune.model(body.model);
    const parsed = trained ? { ok: true as const, value: { persona: trained.persona.id, options: defaultModelOptions() } } : parseModelString(body.model);
    if (!parsed.ok) {
      sendJson(res, 400, errorBody(parsed.error, "invalid_request_error", "invalid_model_options"));
      return;
    }
    const { persona, options } = parsed.value;
    if (!isPersonaId(persona)) {
      sendJson(
        res,
        404,
        errorBody(`The model \`${persona}\` does not exist (simulated personas: ${PERSONA_IDS.join(", ")}).`, "invalid_request_error", "model_not_found"),
      );
      return;
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      sendJson(res, 400, errorBody("`messages` must be a non-empty array.", "invalid_request_error", "invalid_messages"));
      return;
    }

    const attempt = attempts.next(requestId);
    const fault = decideFault(requestId, attempt, options);
    const requestHeader = { "x-request-id": `req_${hexHash(requestId, attempt)}` };
    if (fault) {
      s.faults[fault]++;
      const reply = faultReply(fault, options);
      const delay = fault === "timeout" ? options.hang : (options.latency ?? defaultLatency);
      later(res, delay, () => {
        res.writeHead(reply.status, { ...reply.headers, ...requestHeader });
        res.end(reply.body);
      });
      return;
    }
    let completion: string;
    const odd = decideOddShape(requestId, attempt, options);
    try {
      const answer = respond(trained?.persona ?? PERSONAS[persona], body, {
        model: body.model,
        logprobsSupported: options.logprobs,
        suite: currentSuite(),
        safety: currentSafety(),
        modelOptions: options,
        requestId,
        attempt,
      });
      if (odd) {
        applyOddShape(answer as unknown as Parameters<typeof applyOddShape>[0], odd);
        s.oddShapes[odd] = (s.oddShapes[odd] ?? 0) + 1;
      }
      completion = JSON.stringify(answer);
    } catch (err) {
      sendJson(res, 400, errorBody(`Could not handle request: ${(err as Error).message}`, "invalid_request_error", null));
      return;
    }
    // Logged with the time the call arrived, not when its answer went out: a call the chaos script's killed worker
    // sent just before the kill is answered after it, and still belongs to the killed worker.
    const arrivedAt = Date.now();
    res.once("finish", () => s.answered.set(requestId, [...(s.answered.get(requestId) ?? []), arrivedAt]));
    later(res, options.latency ?? defaultLatency, () => {
      res.writeHead(200, { "content-type": "application/json", ...requestHeader });
      res.end(completion);
    });
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://simulator");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "POST" && path === "/v1/chat/completions") {
      chatCompletions(req, res).catch(() => {
        if (!res.destroyed) sendJson(res, 400, errorBody("Could not read request.", "invalid_request_error", null));
      });
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: PERSONA_IDS.map((id) => ({ id, object: "model", created: 0, owned_by: "projectability-simulator" })),
      });
      return;
    }
    if (req.method === "GET" && path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      if (isPersonaId(id)) sendJson(res, 200, { id, object: "model", created: 0, owned_by: "projectability-simulator" });
      else sendJson(res, 404, errorBody(`The model \`${id}\` does not exist.`, "invalid_request_error", "model_not_found"));
      return;
    }
    if (req.method === "GET" && path === "/_sim/stats") {
      const only = url.searchParams.get("model");
      const models: Record<string, ReturnType<typeof statsView>> = {};
      if (only !== null) models[only] = statsView(stats.get(only) ?? newStats());
      else for (const [model, s] of stats) models[model] = statsView(s);
      sendJson(res, 200, { models });
      return;
    }
    if (req.method === "POST" && path === "/_sim/reset") {
      req.resume();
      stats.clear();
      attempts.reset();
      sendJson(res, 200, { ok: true });
      return;
    }
    if (req.method === "GET" && (path === "/" || path === "/_sim/health")) {
      sendJson(res, 200, {
        ok: true,
        simulator: "projectability-simulator",
        note: "Stand-in for hosted model APIs; its numbers are never results.",
        personas: PERSONA_IDS,
        knownStatements: currentSuite().byKey.size,
        knownSafetyPrompts: currentSafety().byKey.size,
      });
      return;
    }
    if (fineTune.owns(path)) {
      fineTune.handle(req, res, path, url).catch(() => {
        if (!res.destroyed) sendJson(res, 400, errorBody("Could not read request.", "invalid_request_error", null));
      });
      return;
    }
    req.resume();
    sendJson(res, 404, errorBody(`No route for ${req.method} ${path}.`, "invalid_request_error", "not_found"));
  }

  const server = createServer(route);
  // Hundreds of concurrent keep-alive clients are normal here.
  server.keepAliveTimeout = 65_000;
  server.on("clientError", (_err: Error, socket: { destroyed: boolean; destroy(): void }) => {
    if (!socket.destroyed) socket.destroy();
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  origin = `http://${urlHost}:${port}`;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      fineTune.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const prefixed = args.find((a) => a.startsWith(`${name}=`));
  return prefixed?.slice(name.length + 1);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const port = Number(argValue(args, "--port") ?? 8788);
  const latencyMs = Number(argValue(args, "--latency") ?? 0);
  const host = argValue(args, "--host") ?? "127.0.0.1";
  const personaSuitePath = argValue(args, "--suite");
  const safetySuitePath = argValue(args, "--safety-suite");
  if (!Number.isInteger(port) || port < 0 || !Number.isFinite(latencyMs) || latencyMs < 0) {
    console.error("usage: node scripts/simulator/server.ts [--port 8788] [--latency 0] [--host 127.0.0.1] [--suite path.yaml] [--safety-suite path.yaml]");
    process.exit(2);
  }
  const sim = await startSimulator({ port, host, latencyMs, personaSuitePath, safetySuitePath });
  const known = loadPersonaSuite(personaSuitePath ?? DEFAULT_PERSONA_SUITE_PATH).byKey.size;
  if (known === 0) console.warn("simulator: persona suite not found or empty; every statement is treated as unknown (planted 0.5)");
  if (loadSafetySuite(safetySuitePath ?? DEFAULT_SAFETY_SUITE_PATH).byKey.size === 0) {
    console.warn("simulator: safety suite not found or empty; safety prompts get generic answers");
  }
  console.log(`simulator listening on ${sim.url}`);
  const stop = () => {
    sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
