/**
 * @module queue/consumer: the work queue's consumer. Per batch: load the units, skip the ones already stored
 * (a redelivered message calls no model), call the endpoints under their gates, store every result in one D1
 * batch, then ack, retry with backoff, or hand back units the gate could not fit in yet.
 */
import { and, eq, inArray, isNull, ne, or, sql } from "drizzle-orm";
import { callCounts, countingEnv } from "../db/call-counts";
import { chunk, insertIgnoringConflicts, type Db, getDb, runBatch } from "../db/client";
import { type EndpointRow, getEndpointsByIds } from "../db/queries/endpoints";
import { completeIfFinished } from "../db/queries/runs";
import { getSuiteVersion, loadItems } from "../db/queries/suites";
import { rowsWithRawRefs } from "../db/raw-answers";
import { groupBy } from "../lib/arrays";
import { responses, runs, units } from "../db/schema";
import type { Env } from "../env";
import { decryptSecret } from "../lib/crypto";
import { unitId } from "../lib/ids";
import { GatePool } from "../providers/gate-pool";
import { decryptHeaders } from "../providers/headers";
import { callChat } from "../providers/openai";
import type { Stage, StageContext } from "../kinds/types";
import { SUITE_KINDS } from "../suites/kinds";
import type { SuiteItem } from "../suites/types";
import { retryDelaySeconds } from "./backoff";
import { queueMessage, type QueueMessage, sendAll, type WorkMessage, workMessages } from "./messages";
import { planSlice, sampleSeed } from "./planner";
import { afterRunsCompleted } from "./run-hooks";
import { parseJudgeKey } from "../judges/judge-key";
import { config, DEFAULT_CALLS_PER_INVOCATION } from "../config";

/** Longest a unit waits inside one delivery for its endpoint's gate before going back to the queue (ours). */
export const GATE_MAX_WAIT_MS = 20_000;
/** A gate lease outlives the call's timeout by this margin, then expires on its own (ours). */
const LEASE_MARGIN_MS = 5_000;
/**
 * Model calls one consumer invocation keeps in flight. Cloudflare allows 6 simultaneous outgoing connections
 * per invocation (platform-limits guide, Workers), so more would only queue inside the runtime while their
 * timeouts run. Locally miniflare has no such cap; `npm start` and the bench raise it with a var.
 */
export { DEFAULT_CALLS_PER_INVOCATION };

/** A counting semaphore for the calls of one invocation. */
function semaphore(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * A batch stops starting new calls after this long and hands the rest back to the queue: results are written
 * at the end of a batch, and Queues ends a consumer invocation after 15 minutes of wall time (platform-limits
 * guide), so a batch of slow calls must finish well inside that (ours: 10 minutes + one call timeout).
 */
export const BATCH_TIME_BUDGET_MS = 10 * 60_000;

/** How stale a run's status may be before a unit re-reads it, so a cancel takes effect inside a long batch (ours). */
const RUN_STATUS_MAX_AGE_MS = 1_000;

/** Re-reads a run's status at most once per RUN_STATUS_MAX_AGE_MS while a batch works through its units. */
function runLiveness(db: Db) {
  const seen = new Map<string, { at: number; running: Promise<boolean> }>();
  return (runId: string): Promise<boolean> => {
    const hit = seen.get(runId);
    if (hit && Date.now() - hit.at < RUN_STATUS_MAX_AGE_MS) return hit.running;
    const running = db
      .select({ status: runs.status })
      .from(runs)
      .where(eq(runs.id, runId))
      .get()
      .then((r) => r?.status === "running");
    seen.set(runId, { at: Date.now(), running });
    return running;
  };
}

type UnitRow = typeof units.$inferSelect;
/** What a call to an endpoint sends besides the request: its API key and extra static headers, decrypted. */
type Credentials = { apiKey: string; headers?: Record<string, string> };
type RunRow = typeof runs.$inferSelect;
/** A unit whose request is built and whose endpoint is callable: it waits in line for a lease and a call slot. */
interface ReadyUnit {
  unit: UnitRow;
  ctx: StageContext;
  stage: Stage;
  ep: EndpointRow;
  request: ReturnType<Stage["buildRequest"]>;
  credentials: Credentials;
}

/** What happened to one unit in this delivery. */
type UnitResult =
  | { unitId: string; status: "done"; response: typeof responses.$inferInsert; next: (typeof units.$inferInsert)[] }
  | { unitId: string; status: "failed"; error: string }
  | { unitId: string; status: "transient"; error: string; retryAfterSeconds: number | null }
  /** The answer could not be parsed and the stage asks once more. */
  | { unitId: string; status: "reparse"; error: string }
  | { unitId: string; status: "deferred"; waitMs: number }
  | { unitId: string; status: "skipped" };

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** The endpoint id at the front of a judge key ("<endpoint>@<revision>|..."), or null. */
function judgeEndpointOf(key: string | null): string | null {
  return key ? (parseJudgeKey(key)?.endpointId ?? null) : null;
}

export async function handleWorkQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  // Profiling (LOG_BATCH_TIMING=1): count this batch's D1 and queue calls for its timing line.
  if (env.LOG_BATCH_TIMING === "1") env = countingEnv(env);
  const db = getDb(env.DB);
  const work: { msg: Message<unknown>; body: WorkMessage }[] = [];
  const planning: Promise<void>[] = [];
  for (const msg of batch.messages) {
    const parsed = queueMessage.safeParse(msg.body);
    if (!parsed.success) {
      // A message we cannot read will never become readable: drop it loudly rather than loop.
      console.error(JSON.stringify({ event: "queue.bad_message", id: msg.id, issues: parsed.error.issues.slice(0, 3) }));
      msg.ack();
    } else if (parsed.data.kind === "plan") {
      // Plan slices run alongside the batch's work, so calls taken along with a plan message do not wait for it.
      const plan = parsed.data;
      planning.push(
        planSlice(env, db, plan).then(
          () => msg.ack(),
          (err) => {
            console.error(JSON.stringify({ event: "plan.error", runId: plan.runId, error: String(err) }));
            msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, retryBase(env), null) });
          },
        ),
      );
    } else work.push({ msg, body: parsed.data });
  }
  if (work.length) await processWork(env, db, work);
  await Promise.all(planning);
  const counts = callCounts(env);
  if (counts) console.log(JSON.stringify({ event: "batch.counts", messages: batch.messages.length, workMessages: work.length, ...counts }));
}

function retryBase(env: Env): number {
  return config(env).retryBaseSeconds;
}

function modelTimeout(env: Env): number {
  return config(env).modelTimeoutMs;
}

/** Unit ids grouped by run: units are keyed by (run_id, id), so every lookup names the run. */
function idsByRun(pairs: { runId: string; id: string }[]): Map<string, string[]> {
  return new Map([...groupBy(pairs, (p) => p.runId)].map(([runId, list]) => [runId, list.map((p) => p.id)]));
}

/** One read per run and chunk of 90 ids (under D1's 100 bound parameters), all at once; their rows together. */
async function readByRun<T>(pairs: { runId: string; id: string }[], read: (runId: string, ids: string[]) => Promise<T[]>): Promise<T[]> {
  const reads = [...idsByRun(pairs)].flatMap(([runId, ids]) => chunk([...new Set(ids)], 90).map((part) => read(runId, part)));
  return (await Promise.all(reads)).flat();
}

async function loadUnits(db: Db, work: { body: WorkMessage }[]): Promise<Map<string, UnitRow>> {
  const rows = await readByRun(
    work.flatMap((w) => w.body.unitIds.map((id) => ({ runId: w.body.runId, id }))),
    (runId, ids) =>
      db
        .select()
        .from(units)
        .where(and(eq(units.runId, runId), inArray(units.id, ids)))
        .all(),
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** A per-unit step failed: `transient` (infrastructure: D1, the gate, the network) retries the unit, else it fails for good. */
class UnitStepError extends Error {
  constructor(
    readonly step: string,
    readonly transient: boolean,
    cause: unknown,
  ) {
    super(`${step} failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`.slice(0, 300));
  }
}

/** Runs one per-unit step inside its own guard, so its throw settles this unit only. */
async function guard<T>(step: string, transient: boolean, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof UnitStepError ? err : new UnitStepError(step, transient, err);
  }
}

async function processWork(env: Env, db: Db, work: { msg: Message<unknown>; body: WorkMessage }[]): Promise<void> {
  const batchStarted = Date.now();
  const ids = [...new Set(work.flatMap((w) => w.body.unitIds))];
  const unitRows = await loadUnits(db, work);
  const runIds = [...new Set([...unitRows.values()].map((u) => u.runId))];
  const runRows = new Map<string, RunRow>(
    (await Promise.all(chunk(runIds, 90).map((p) => db.select().from(runs).where(inArray(runs.id, p)).all()))).flat().map((r) => [r.id, r]),
  );
  // Only pending units of live runs need a model call; anything else is settled already.
  const todo = [...unitRows.values()].filter((u) => u.status === "pending" && runRows.get(u.runId)?.status === "running");
  // A redelivered message whose units are done may have died before it enqueued their follow-ups: send them again.
  const alreadyDone = [...unitRows.values()].filter((u) => u.status === "done").map((u) => u.id);
  if (alreadyDone.length) await reenqueuePendingChildren(env, db, alreadyDone);

  const itemsBySuite = new Map<string, Map<string, SuiteItem>>();
  const metaBySuite = new Map<string, Record<string, unknown>>();
  for (const svId of new Set(todo.map((u) => u.suiteVersionId))) {
    const keysWanted = todo.filter((u) => u.suiteVersionId === svId).map((u) => u.itemKey);
    itemsBySuite.set(svId, new Map((await loadItems(db, svId, keysWanted)).map((it) => [it.key, it])));
    metaBySuite.set(svId, ((await getSuiteVersion(db, svId))?.meta ?? {}) as Record<string, unknown>);
  }
  const stageOf = (u: UnitRow): Stage | undefined => SUITE_KINDS[String(metaBySuite.get(u.suiteVersionId)?.kind)]?.stages[u.kind];
  // A stage calls the run's model, or a judge: the one its unit's judge key names (re-judging adds judges), else the run's.
  const targets = new Map(
    todo.map((u) => {
      const run = runRows.get(u.runId)!;
      return [u.id, stageOf(u)?.target === "judge" ? (judgeEndpointOf(u.judge) ?? run.config.judge?.endpointId ?? null) : run.endpointId];
    }),
  );
  const endpointsById = await getEndpointsByIds(db, [...new Set([...targets.values()].filter((t): t is string => !!t))]);
  // Decrypted once per endpoint (API key and extra headers); what cannot be decrypted fails that endpoint's units only (in their guard).
  const keys = new Map<string, Promise<Credentials>>();
  const credentialsOf = (ep: EndpointRow) => {
    let k = keys.get(ep.id);
    if (!k) {
      const apiKey = ep.apiKeyEnc ? decryptSecret(ep.apiKeyEnc, env.ENCRYPTION_KEY) : Promise.resolve("none");
      keys.set(ep.id, (k = Promise.all([apiKey, decryptHeaders(ep.headersEnc, env.ENCRYPTION_KEY)]).then(([key, headers]) => ({ apiKey: key, headers }))));
    }
    return k;
  };
  const parents = await loadParents(
    db,
    todo.flatMap((u) => (u.parentId ? [{ runId: u.runId, id: u.parentId }] : [])),
  );

  const timeoutMs = modelTimeout(env);
  const stillRunning = runLiveness(db);
  const slot = semaphore(config(env).callsPerInvocation);
  const results = new Map<string, UnitResult>();
  // Results are written as they complete, in bounded flushes, so an eviction loses at most one flush of paid calls.
  const runOf = (unitId: string) => unitRows.get(unitId)!.runId;
  const writer = resultWriter(env, db, runOf);
  // Leases are taken in groups of the units next in line for a call slot (issue 15). A unit at the back of a group may
  // first wait for every slot to turn over once (each holder: its gate wait, then its call), so the lease covers that too.
  const leaseGroup = Math.min(LEASE_GROUP_MAX, config(env).callsPerInvocation);
  const leaseMs = GATE_MAX_WAIT_MS + timeoutMs + LEASE_MARGIN_MS + RESULT_FLUSH_MS + (leaseGroup > 1 ? GATE_MAX_WAIT_MS + timeoutMs : 0);
  const leases = leaseGroups(env, leaseMs, leaseGroup);
  const settle = (r: UnitResult) => {
    results.set(r.unitId, r);
    writer.add(r);
  };
  const callsStarted = Date.now();
  const settleError = (u: UnitRow, err: unknown) => {
    const e = err instanceof UnitStepError ? err : new UnitStepError("unit", true, err);
    console.error(JSON.stringify({ event: "unit.error", unitId: u.id, runId: u.runId, step: e.step, transient: e.transient, error: e.message }));
    settle(
      e.transient ? { unitId: u.id, status: "transient", error: e.message, retryAfterSeconds: null } : { unitId: u.id, status: "failed", error: e.message },
    );
  };

  // Every unit's request first (no write, no call), so the units that will call are all in line before the first takes
  // its lease: a lease group then covers the units next in line from the first call on (issue 15: the first wave
  // asked one by one, each before the next was in line, and took as many D1 writes as there were call slots).
  const ready = (
    await Promise.all(
      todo.map(async (u): Promise<ReadyUnit | null> => {
        try {
          const run = runRows.get(u.runId)!;
          const target = targets.get(u.id);
          const ep = target ? endpointsById.get(target) : undefined;
          const item = itemsBySuite.get(u.suiteVersionId)?.get(u.itemKey);
          const meta = metaBySuite.get(u.suiteVersionId) ?? {};
          const stage = stageOf(u);
          const parent = u.parentId ? parents.get(u.parentId) : undefined;
          const problem = !stage
            ? `no stage ${u.kind} for suite kind ${String(meta.kind)}`
            : !target
              ? "the run has no judge configured"
              : !ep || ep.deletedAt
                ? `endpoint ${target} was deleted`
                : !ep.callable
                  ? `endpoint ${target} is record-only (callable: false) and is never called`
                  : !item
                    ? "suite item missing"
                    : u.parentId && !parent
                      ? "the answer to follow up on is missing"
                      : null;
          if (problem) return (settle({ unitId: u.id, status: "failed", error: problem }), null);
          const ctx: StageContext = {
            unit: u,
            item: item!,
            suiteMeta: meta,
            run: { seed: run.seed, temperature: run.temperature, scoringMode: run.scoringMode, config: run.config },
            endpoint: { systemPrompt: ep!.systemPrompt, trigger: ep!.trigger, triggerFormat: ep!.triggerFormat },
            parent,
            seed: sampleSeed(run.seed, u.sampleIndex),
          };
          // A stage that needs more than its parent (another run's answer) loads it first; it may wait or fail.
          if (stage!.prepare) {
            const prep = await guard("prepare", true, () => stage!.prepare!({ db, env }, ctx));
            if ("fail" in prep) return (settle({ unitId: u.id, status: "failed", error: prep.fail }), null);
            if ("deferMs" in prep) return (settle({ unitId: u.id, status: "deferred", waitMs: prep.deferMs }), null);
            ctx.extra = prep.extra;
          }
          const request = await guard("buildRequest", false, () => stage!.buildRequest(ctx));
          const credentials = await guard("decrypting the endpoint's API key and headers", false, () => credentialsOf(ep!));
          return { unit: u, ctx, stage: stage!, ep: ep!, request, credentials };
        } catch (err) {
          settleError(u, err);
          return null;
        }
      }),
    )
  ).filter((r): r is ReadyUnit => r !== null);

  // Then the calls, in plan order: only units that will ask for a lease are in line for one.
  for (const r of ready) leases.queue(r.unit.id, r.unit.runId);
  // Gate slots for the whole batch: one Durable Object call asks for many, a slot passes straight to the next unit (issue 15).
  const demand = new Map<string, number>();
  for (const r of ready) demand.set(r.ep.id, (demand.get(r.ep.id) ?? 0) + 1);
  const gates = new GatePool(env, timeoutMs + LEASE_MARGIN_MS, GATE_MAX_WAIT_MS, demand, config(env).callsPerInvocation);
  await Promise.all(
    ready.map(async ({ unit: u, ctx, stage, ep, request, credentials }) => {
      let leaseId = "";
      let leased = false;
      try {
        // The invocation's connection cap is taken before the endpoint's gate, so no gate slot waits on a connection.
        const r = await slot(async (): Promise<UnitResult> => {
          // At most one call per unit: the lease is taken before the gate and the call, and released when the unit settles.
          const lease = await guard("lease", true, () => leases.take(u.id));
          if (!lease.taken) return lease.settled ? { unitId: u.id, status: "skipped" } : { unitId: u.id, status: "deferred", waitMs: lease.waitMs };
          leased = true;
          leaseId = lease.leaseId;
          writer.leased(u.id, leaseId);
          // Past the batch's time budget: the lease taken for this unit (perhaps by the unit ahead of it) is given back.
          if (Date.now() - batchStarted > BATCH_TIME_BUDGET_MS) return { unitId: u.id, status: "deferred", waitMs: 0 };
          return runUnit(gates, ctx, stage, ep, request, credentials, timeoutMs, stillRunning);
        });
        settle(r);
      } catch (err) {
        settleError(u, err);
      } finally {
        // A unit that leaves this delivery unsettled (handed back, skipped) gives its lease up at once.
        const r = results.get(u.id);
        if (leased && r && (r.status === "deferred" || r.status === "skipped")) writer.release(u.id, leaseId);
      }
    }),
  ).finally(() => gates.close());
  const callsEnded = Date.now();

  // The last flush; a flush that failed earlier is tried again here, and its units are retried if it fails again.
  const unstored = await writer.close();
  for (const id of unstored) {
    const r = results.get(id);
    if (r) results.set(id, { unitId: id, status: "transient", error: "storing the result failed", retryAfterSeconds: null });
  }
  await settleMessages(env, work, results, writer.needsRedelivery);
  try {
    const completed: string[] = [];
    for (const runId of new Set([...results.values()].map((r) => unitRows.get(r.unitId)!.runId)))
      if (await completeIfFinished(db, runId)) completed.push(runId);
    await afterRunsCompleted(env, db, completed);
  } catch (err) {
    // Every message is settled; the cron's sweep completes the run later.
    console.error(JSON.stringify({ event: "complete.error", error: String(err) }));
  }
  if (env.LOG_BATCH_TIMING === "1") {
    // Timing marks for profiling (`npm run bench` turns them on): where a batch's wall time goes.
    const at = Date.now();
    console.log(
      JSON.stringify({
        event: "batch.timing",
        startedAt: batchStarted,
        endedAt: at,
        units: ids.length,
        calls: todo.length,
        loadMs: callsStarted - batchStarted,
        callsMs: callsEnded - callsStarted,
        storeMs: at - callsEnded,
        ...gates.timing(callsStarted),
      }),
    );
  }
}

/**
 * Results written per flush at most (ours: a flush is one D1 batch well under its statement limits, and one R2 put
 * of raw answers; 50 rather than 25 halves the puts, $0.0009 per 10,000 judgments, for at most 25 more answers in
 * memory when an isolate dies).
 */
export const RESULT_FLUSH_SIZE = 50;
/**
 * A result waits at most this long before it is written (ours: short, because an answer still in memory when the
 * isolate dies is paid for again; under load RESULT_FLUSH_SIZE fills first).
 */
export const RESULT_FLUSH_MS = 500;

/**
 * Writes results as they complete: a flush when RESULT_FLUSH_SIZE results wait or RESULT_FLUSH_MS has passed.
 * Each flush stores responses with the follow-up units they create in one D1 batch (as before, so a crash cannot
 * lose a follow-up), then sends the follow-ups' messages. Flushes run one at a time.
 */
function resultWriter(env: Env, db: Db, runOf: (unitId: string) => string) {
  let waiting: UnitResult[] = [];
  const releases: { unitId: string; leaseId: string }[] = [];
  /** The lease each unit holds in this delivery, so a settled unit clears only its own. */
  const leases = new Map<string, string>();
  const failed: UnitResult[] = [];
  /** Units whose follow-ups are stored but whose messages could not be sent: their message is redelivered. */
  const needsRedelivery = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const part = waiting;
    const free = releases.splice(0);
    waiting = [];
    if (!part.length && !free.length) return chain;
    chain = chain.then(async () => {
      const next = part.flatMap((r) => (r.status === "done" ? r.next : []));
      try {
        await storeResults(db, env.RAW, runOf, part, next, free, leases);
      } catch (err) {
        console.error(JSON.stringify({ event: "flush.error", results: part.length, error: String(err) }));
        failed.push(...part);
        return;
      }
      if (next.length) {
        try {
          await sendAll(env.WORK_QUEUE, workMessagesByRun(next));
        } catch (err) {
          console.error(JSON.stringify({ event: "followups.send_error", error: String(err) }));
          for (const r of part) if (r.status === "done" && r.next.length) needsRedelivery.add(r.unitId);
        }
      }
    });
    return chain;
  };
  const soon = () => {
    if (waiting.length >= RESULT_FLUSH_SIZE) void flush();
    else timer ??= setTimeout(() => void flush(), RESULT_FLUSH_MS);
  };
  return {
    needsRedelivery,
    leased(unitId: string, leaseId: string) {
      leases.set(unitId, leaseId);
    },
    add(r: UnitResult) {
      if (r.status === "deferred" || r.status === "skipped") return;
      waiting.push(r);
      soon();
    },
    release(unitId: string, leaseId: string) {
      releases.push({ unitId, leaseId });
      soon();
    },
    /** Flushes what is left, retries failed flushes once; returns the unit ids whose results could not be stored. */
    async close(): Promise<string[]> {
      await flush();
      if (failed.length) {
        waiting = failed.splice(0);
        await flush();
      }
      return failed.map((r) => r.unitId);
    },
  };
}

/** What taking a unit's lease found: taken (under `leaseId`); or the unit is settled already; or another delivery holds it for `waitMs` more. */
type LeaseOutcome = { taken: true; leaseId: string } | { taken: false; settled: true } | { taken: false; settled: false; waitMs: number };

/** Most units one lease statement takes: their ids plus two parameters stay under D1's 100 bound parameters (platform-limits guide). */
export const LEASE_GROUP_MAX = 90;

/**
 * Unit leases taken in groups (issue 15: one D1 write per unit was a large share of the consumer's time per call).
 * Units `queue` in the order they wait for a call slot; the first to `take` its lease takes, in one statement, its own
 * and those of up to `groupSize - 1` units queued behind it that have none yet. A group shares one lease id.
 */
export function leaseGroups(env: Env, leaseMs: number, groupSize: number) {
  const order: string[] = [];
  const position = new Map<string, number>();
  const runOf = new Map<string, string>();
  const outcomes = new Map<string, Promise<LeaseOutcome>>();
  return {
    queue(unitId: string, runId: string) {
      if (position.has(unitId)) return;
      position.set(unitId, order.length);
      runOf.set(unitId, runId);
      order.push(unitId);
    },
    take(unitId: string): Promise<LeaseOutcome> {
      const known = outcomes.get(unitId);
      if (known) return known;
      // A group is one run's units (one key range of units).
      const runId = runOf.get(unitId)!;
      const group = [unitId];
      for (let i = (position.get(unitId) ?? order.length) + 1; i < order.length && group.length < groupSize; i++)
        if (!outcomes.has(order[i]) && runOf.get(order[i]) === runId) group.push(order[i]);
      const taking = takeLeases(env, runId, group, crypto.randomUUID(), leaseMs);
      for (const id of group) {
        const outcome = taking.then((m) => m.get(id)!);
        // A failed statement fails each unit where it awaits its lease; until then the rejection is not "unhandled".
        outcome.catch(() => undefined);
        outcomes.set(id, outcome);
      }
      return outcomes.get(unitId)!;
    },
  };
}

/**
 * Takes the units' lease: a conditional UPDATE of pending units whose lease is free or expired, so of two concurrent
 * deliveries only one calls a unit's model. Times are D1's clock, so workers' clocks never disagree with it.
 */
async function takeLeases(env: Env, runId: string, unitIds: string[], leaseId: string, leaseMs: number): Promise<Map<string, LeaseOutcome>> {
  // One statement for the group. A D1 batch of one UPDATE per unit read 2.6 fewer rows per unit (SQLite builds a
  // temporary index for an IN list; reads cost $0.001 per million) but was 0.1 s slower on the 50 ms bench (two
  // interleaved rounds of two runs).
  const marks = (from: number) => unitIds.map((_, i) => `?${i + from}`).join(", ");
  const taken = await env.DB.prepare(
    `UPDATE units SET lease_id = ?1, lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) WHERE run_id = ?3 AND id IN (${marks(4)}) AND status = 'pending' AND (lease_until IS NULL OR lease_until <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) RETURNING id`,
  )
    .bind(leaseId, `+${(leaseMs / 1000).toFixed(3)} seconds`, runId, ...unitIds)
    // all(), not first(): its meta carries rows_written, so the bench's count includes the lease (one row per unit).
    .all<{ id: string }>();
  const out = new Map<string, LeaseOutcome>(taken.results.map((r) => [r.id, { taken: true, leaseId }]));
  const rest = unitIds.filter((id) => !out.has(id));
  if (!rest.length) return out;
  const rows = await env.DB.prepare(
    `SELECT id, status, (julianday(lease_until) - julianday('now')) * 86400000 AS left_ms FROM units WHERE run_id = ?1 AND id IN (${rest.map((_, i) => `?${i + 2}`).join(", ")})`,
  )
    .bind(runId, ...rest)
    .all<{ id: string; status: string; left_ms: number | null }>();
  const byId = new Map(rows.results.map((r) => [r.id, r]));
  for (const id of rest) {
    const row = byId.get(id);
    out.set(
      id,
      !row || row.status !== "pending"
        ? { taken: false, settled: true }
        : { taken: false, settled: false, waitMs: Math.max(1000, Math.ceil(row.left_ms ?? 0)) },
    );
  }
  return out;
}

async function loadParents(db: Db, pairs: { runId: string; id: string }[]): Promise<Map<string, { answer: string | null; parsed: Record<string, unknown> }>> {
  const rows = await readByRun(pairs, (runId, ids) =>
    db
      .select({ unitId: responses.unitId, answer: responses.answer, parsed: responses.parsed })
      .from(responses)
      .where(and(eq(responses.runId, runId), inArray(responses.unitId, ids)))
      .all(),
  );
  return new Map(rows.map((r) => [r.unitId, { answer: r.answer, parsed: r.parsed as Record<string, unknown> }]));
}

async function reenqueuePendingChildren(env: Env, db: Db, parentIds: string[]): Promise<void> {
  const children = (
    await Promise.all(
      chunk(parentIds, 90).map((part) =>
        db
          .select({ id: units.id, runId: units.runId })
          .from(units)
          .where(and(inArray(units.parentId, part), eq(units.status, "pending")))
          .all(),
      ),
    )
  ).flat();
  if (children.length) await sendAll(env.WORK_QUEUE, workMessagesByRun(children));
}

function workMessagesByRun(list: { id: string; runId: string }[]): QueueMessage[] {
  return [...idsByRun(list)].flatMap(([runId, unitIds]) => workMessages(runId, unitIds));
}

async function runUnit(
  gates: GatePool,
  ctx: StageContext,
  stage: Stage,
  ep: EndpointRow,
  request: ReturnType<Stage["buildRequest"]>,
  credentials: Credentials,
  timeoutMs: number,
  stillRunning: (runId: string) => Promise<boolean>,
): Promise<UnitResult> {
  const u = ctx.unit;
  const grant = await guard("gate", true, () => gates.acquire(ep.id, { maxConcurrency: ep.maxConcurrency, requestsPerMinute: ep.requestsPerMinute }));
  if (!grant.granted) return { unitId: u.id, status: "deferred", waitMs: grant.waitMs };
  let outcome;
  try {
    // Cancelled while this unit waited for its slot: leave it unasked.
    if (!(await guard("run status", true, () => stillRunning(u.runId)))) return { unitId: u.id, status: "skipped" };
    outcome = await callChat({ baseUrl: ep.baseUrl, model: ep.model, ...credentials }, request, u.id, timeoutMs);
  } finally {
    // The slot passes to the batch's next unit for this endpoint, or goes back to the gate when the batch closes.
    gates.release(ep.id, grant.leaseId);
  }
  if (!outcome.ok) {
    return outcome.transient
      ? { unitId: u.id, status: "transient", error: outcome.error, retryAfterSeconds: outcome.retryAfterSeconds }
      : { unitId: u.id, status: "failed", error: outcome.error };
  }
  const completion = outcome.completion;
  // The answer is paid for: a scorer or follow-up that throws on it fails this unit with the reason, and nothing else.
  const scored = await guard("score", false, () => stage.score(ctx, completion));
  if (scored.unparseable && stage.retryUnparseableOnce && u.parseRetries < 1) {
    return { unitId: u.id, status: "reparse", error: `unparseable answer: ${String(scored.answer).slice(0, 200)}` };
  }
  const next = await guard("next", false, () =>
    Promise.all((stage.next?.(ctx, scored) ?? []).map(async (n) => ({ id: await unitId({ ...n, runId: u.runId }), runId: u.runId, parentId: u.id, ...n }))),
  );
  return {
    unitId: u.id,
    status: "done",
    next,
    response: {
      unitId: u.id,
      runId: u.runId,
      endpointId: ep.id,
      model: ep.model,
      request: { ...request, seed: request.seed ?? ctx.seed },
      // Stored as the provider sent it; scorers saw the canonical shape (providers/completion-shape.ts).
      raw: outcome.raw,
      answer: scored.answer,
      parsed: scored.parsed,
      score: scored.score,
      latencyMs: outcome.latencyMs,
      promptTokens: completion.usage?.prompt_tokens ?? null,
      completionTokens: completion.usage?.completion_tokens ?? null,
    },
  };
}

/**
 * One D1 batch per flush: responses with the follow-ups they create, unit status, attempts; every settled unit's
 * lease is cleared, and units handed back give their lease up. Failures touch only a unit still pending.
 * The raw side of the answers (request, raw completion) is put to R2 first, one object per run, and the response
 * rows keep its key and line: a row never points at a missing object. A worker killed between the two leaves an
 * orphan object and an unsettled unit, which its redelivery answers and writes again under a new key.
 */
async function storeResults(
  db: Db,
  rawBucket: R2Bucket,
  runOf: (unitId: string) => string,
  results: UnitResult[],
  next: (typeof units.$inferInsert)[],
  releases: { unitId: string; leaseId: string }[] = [],
  leases: Map<string, string> = new Map(),
): Promise<void> {
  const statements: unknown[] = [...insertIgnoringConflicts(db, units, next)];
  const done = results.flatMap((r) => (r.status === "done" ? [r] : []));
  statements.push(
    ...insertIgnoringConflicts(
      db,
      responses,
      await rowsWithRawRefs(
        rawBucket,
        done.map((r) => r.response),
      ),
    ),
  );
  const free = { leaseId: null, leaseUntil: null };
  for (const [runId, ids] of idsByRun(done.map((r) => ({ runId: r.response.runId, id: r.unitId }))))
    for (const part of chunk(ids, 90))
      statements.push(
        db
          .update(units)
          .set({ status: "done", updatedAt: now, ...free })
          .where(and(eq(units.runId, runId), inArray(units.id, part), ne(units.status, "done"))),
      );
  for (const r of results) {
    // Only a unit still pending whose lease is ours or free: another delivery's call in flight is left alone.
    const mine = and(
      eq(units.runId, runOf(r.unitId)),
      eq(units.id, r.unitId),
      eq(units.status, "pending"),
      or(isNull(units.leaseId), eq(units.leaseId, leases.get(r.unitId) ?? "")),
    );
    if (r.status === "failed") {
      statements.push(
        db
          .update(units)
          .set({ status: "failed", lastError: r.error, updatedAt: now, ...free })
          .where(mine),
      );
    } else if (r.status === "reparse") {
      statements.push(
        db
          .update(units)
          .set({ parseRetries: sql`${units.parseRetries} + 1`, lastError: r.error, updatedAt: now, ...free })
          .where(mine),
      );
    } else if (r.status === "transient") {
      statements.push(
        db
          .update(units)
          .set({ attempts: sql`${units.attempts} + 1`, lastError: r.error, updatedAt: now, ...free })
          .where(mine),
      );
    }
  }
  for (const { unitId: id, leaseId } of releases)
    statements.push(
      db
        .update(units)
        .set(free)
        .where(and(eq(units.runId, runOf(id)), eq(units.id, id), eq(units.leaseId, leaseId))),
    );
  await runBatch(db, statements);
}

async function settleMessages(
  env: Env,
  work: { msg: Message<unknown>; body: WorkMessage }[],
  results: Map<string, UnitResult>,
  needsRedelivery: Set<string> = new Set(),
): Promise<void> {
  const handBack: { msg: Message<unknown>; runId: string; unitIds: string[]; delaySeconds: number }[] = [];
  for (const { msg, body } of work) {
    const mine = body.unitIds.map((id) => results.get(id)).filter((r): r is UnitResult => !!r);
    const transient = mine.filter((r) => r.status === "transient" || r.status === "reparse");
    const deferred = mine.filter((r) => r.status === "deferred");
    if (transient.length) {
      // A model failure: the queue redelivers the message (units already stored are skipped then).
      const retryAfter = Math.max(0, ...transient.map((r) => (r.status === "transient" ? (r.retryAfterSeconds ?? 0) : 0)));
      // An answer that could not be parsed is asked again at once; HTTP failures back off.
      const onlyReparse = transient.every((r) => r.status === "reparse");
      msg.retry({ delaySeconds: onlyReparse ? 0 : retryDelaySeconds(msg.attempts, retryBase(env), retryAfter || null) });
    } else if (body.unitIds.some((id) => needsRedelivery.has(id))) {
      // Stored, but the follow-ups' messages were not sent: the redelivery finds the units done and sends them.
      msg.retry({ delaySeconds: 0 });
    } else if (deferred.length) {
      // Waiting for the endpoint's gate is not a failed attempt: re-send those units as a fresh message.
      const waitMs = Math.max(...deferred.map((r) => (r.status === "deferred" ? r.waitMs : 0)));
      handBack.push({ msg, runId: body.runId, unitIds: deferred.map((r) => r.unitId), delaySeconds: Math.ceil(waitMs / 1000) });
    } else msg.ack();
  }
  // Re-send before acking: if sending fails the batch is redelivered, so a deferred unit is never left without a message.
  for (const h of handBack) {
    await sendAll(env.WORK_QUEUE, workMessages(h.runId, h.unitIds), h.delaySeconds);
    h.msg.ack();
  }
}

/**
 * Dead-letter consumer: a message that used up its retries records each of its still-pending units as failed,
 * with the last error seen, so no unit is silently lost.
 */
export async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env.DB);
  const statements: unknown[] = [];
  const touched = new Set<string>();
  for (const msg of batch.messages) {
    const parsed = queueMessage.safeParse(msg.body);
    if (parsed.success && parsed.data.kind === "work") {
      touched.add(parsed.data.runId);
      statements.push(
        db
          .update(units)
          .set({
            status: "failed",
            lastError: sql`'retries exhausted: ' || coalesce(${units.lastError}, 'unknown error')`,
            updatedAt: now,
            leaseId: null,
            leaseUntil: null,
          })
          .where(and(eq(units.runId, parsed.data.runId), inArray(units.id, parsed.data.unitIds), eq(units.status, "pending"))),
      );
    } else if (parsed.success && parsed.data.kind === "plan") {
      // A plan slice that kept failing: the run says why, and the cron's sweep re-plans it (src/queue/sweep.ts).
      const reason = `plan slice at offset ${parsed.data.offset} reached the dead-letter queue after ${msg.attempts} attempt(s)`;
      console.error(JSON.stringify({ event: "dlq.plan", runId: parsed.data.runId, offset: parsed.data.offset }));
      statements.push(
        db
          .update(runs)
          .set({ stallReason: reason, updatedAt: now })
          .where(and(eq(runs.id, parsed.data.runId), eq(runs.status, "running"))),
      );
    } else {
      console.error(JSON.stringify({ event: "dlq.unhandled", id: msg.id, kind: "unreadable" }));
    }
  }
  await runBatch(db, statements);
  const completed: string[] = [];
  for (const runId of touched) if (await completeIfFinished(db, runId)) completed.push(runId);
  await afterRunsCompleted(env, db, completed);
  batch.ackAll();
}
