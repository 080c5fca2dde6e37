/**
 * @module db/call-counts: counts the D1 and Queues calls a consumer batch makes, for its timing log and the bench
 * (subrequests per invocation). Only used when LOG_BATCH_TIMING is on; the bindings behave exactly as before.
 */
import type { Env } from "../env";

export interface CallCounts {
  /** D1 round trips: each statement run on its own, and each `batch()` (one call however many statements). */
  d1Calls: number;
  /** Statements inside those calls. */
  d1Statements: number;
  queueSends: number;
  /** D1's billing figures (`meta.rows_read`, `meta.rows_written`, index writes included) summed over the results that carry them. */
  rowsRead: number;
  rowsWritten: number;
  /** R2 puts of raw answers (RAW) and the bytes they stored (compressed). */
  r2Puts: number;
  r2Bytes: number;
}

function addMeta(c: CallCounts, r: unknown): void {
  const meta = (r as { meta?: { rows_read?: number; rows_written?: number } } | null)?.meta;
  c.rowsRead += meta?.rows_read ?? 0;
  c.rowsWritten += meta?.rows_written ?? 0;
}

const countsOf = new WeakMap<Env, CallCounts>();

/** The counts attached to an env made by `countingEnv`, if any. */
export function callCounts(env: Env): CallCounts | undefined {
  return countsOf.get(env);
}

function countStatement<T extends D1PreparedStatement>(st: T, c: CallCounts): T {
  const s = st as unknown as Record<string, (...a: unknown[]) => unknown>;
  const bind = s.bind.bind(st);
  s.bind = (...a: unknown[]) => countStatement(bind(...a) as T, c);
  for (const m of ["all", "first", "run", "raw"]) {
    const orig = s[m].bind(st);
    s[m] = (...a: unknown[]) => {
      c.d1Calls++;
      c.d1Statements++;
      const out = orig(...a) as Promise<unknown>;
      // `all` and `run` answer with meta; `first` and `raw` do not, so their reads go uncounted (reads are nearly free).
      return m === "all" || m === "run" ? out.then((r) => (addMeta(c, r), r)) : out;
    };
  }
  return st;
}

/** A copy of `env` whose DB, WORK_QUEUE and RAW count their calls (the statements stay real, so `batch()` accepts them). */
export function countingEnv(env: Env): Env {
  const c: CallCounts = { d1Calls: 0, d1Statements: 0, queueSends: 0, rowsRead: 0, rowsWritten: 0, r2Puts: 0, r2Bytes: 0 };
  const db = env.DB;
  const raw = env.RAW;
  const queue = env.WORK_QUEUE;
  const counted: Env = {
    ...env,
    DB: {
      prepare: (q: string) => countStatement(db.prepare(q), c),
      batch: (statements: D1PreparedStatement[]) => {
        c.d1Calls++;
        c.d1Statements += statements.length;
        return db.batch(statements).then((rs) => {
          for (const r of rs) addMeta(c, r);
          return rs;
        });
      },
      exec: (q: string) => {
        c.d1Calls++;
        return db.exec(q);
      },
      withSession: (...a: Parameters<D1Database["withSession"]>) => db.withSession(...a),
      dump: () => db.dump(),
    } as unknown as D1Database,
    WORK_QUEUE: {
      send: (...a: Parameters<Queue<unknown>["send"]>) => {
        c.queueSends++;
        return queue.send(...a);
      },
      sendBatch: (...a: Parameters<Queue<unknown>["sendBatch"]>) => {
        c.queueSends++;
        return queue.sendBatch(...a);
      },
    } as unknown as Queue<unknown>,
    RAW: {
      put: (key: string, value: ArrayBuffer, options?: R2PutOptions) => {
        c.r2Puts++;
        c.r2Bytes += value.byteLength;
        return raw.put(key, value, options);
      },
      get: (...a: Parameters<R2Bucket["get"]>) => raw.get(...a),
      head: (...a: Parameters<R2Bucket["head"]>) => raw.head(...a),
      list: (...a: Parameters<R2Bucket["list"]>) => raw.list(...a),
      delete: (...a: Parameters<R2Bucket["delete"]>) => raw.delete(...a),
    } as unknown as R2Bucket,
  };
  countsOf.set(counted, c);
  return counted;
}
