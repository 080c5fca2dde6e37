/**
 * @module providers/gate: one Durable Object per endpoint that holds `maxConcurrency` and `requestsPerMinute`
 * across every concurrent queue consumer. Callers wait in a FIFO inside the object instead of polling. A consumer
 * batch takes and returns slots in bulk (`acquireMany`, `releaseMany`, `renew`; providers/gate-pool.ts), so the
 * gate costs a few RPCs per batch, not two per call. The rate window and the open leases are kept in the object's
 * SQLite storage as well as in memory, so a restart (eviction, deploy) keeps them: the waiting line is the only state lost.
 */
import { DurableObject } from "cloudflare:workers";

export interface GateLimits {
  maxConcurrency: number;
  requestsPerMinute: number;
}

export type GateGrant = { granted: true; leaseId: string } | { granted: false; waitMs: number };

/**
 * Several slots from one call (`acquireMany`): the leases, and `starts` extra start permits the holder may
 * spend re-using a lease for another call without asking again (each already counted in the rate window).
 */
export type GateGrants = { granted: true; leaseIds: string[]; starts: number; startsAt: number } | { granted: false; waitMs: number };

const WINDOW_MS = 60_000;

interface Waiter {
  resolve: (g: GateGrant) => void;
  timer: ReturnType<typeof setTimeout>;
  leaseMs: number;
}

export class EndpointGate extends DurableObject {
  private limits: GateLimits = { maxConcurrency: 1, requestsPerMinute: 60 };
  private readonly sql: SqlStorage;
  /** leaseId -> expiry; a lease expires so a crashed consumer cannot hold a slot forever. */
  private leases = new Map<string, number>();
  /** Start times of grants inside the last minute (sliding window). */
  private starts: number[] = [];
  private waiters: Waiter[] = [];
  private wake: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    // Synchronous SQLite storage: every change is written in the same turn as the in-memory one, no interleaving.
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS gate_starts (at REAL NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS gate_leases (id TEXT PRIMARY KEY, until REAL NOT NULL)");
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS gate_limits (id INTEGER PRIMARY KEY CHECK (id = 1), max_concurrency INTEGER NOT NULL, requests_per_minute INTEGER NOT NULL)",
    );
    const now = Date.now();
    this.sql.exec("DELETE FROM gate_starts WHERE at <= ?", now - WINDOW_MS);
    this.sql.exec("DELETE FROM gate_leases WHERE until <= ?", now);
    this.starts = this.sql
      .exec<{ at: number }>("SELECT at FROM gate_starts ORDER BY at")
      .toArray()
      .map((r) => r.at);
    for (const r of this.sql.exec<{ id: string; until: number }>("SELECT id, until FROM gate_leases")) this.leases.set(r.id, r.until);
    const saved = this.sql
      .exec<{ max_concurrency: number; requests_per_minute: number }>("SELECT max_concurrency, requests_per_minute FROM gate_limits")
      .toArray()[0];
    if (saved) this.limits = { maxConcurrency: saved.max_concurrency, requestsPerMinute: saved.requests_per_minute };
  }

  private saveLimits(limits: GateLimits) {
    if (limits.maxConcurrency === this.limits.maxConcurrency && limits.requestsPerMinute === this.limits.requestsPerMinute) return;
    this.limits = limits;
    this.sql.exec(
      "INSERT OR REPLACE INTO gate_limits (id, max_concurrency, requests_per_minute) VALUES (1, ?, ?)",
      limits.maxConcurrency,
      limits.requestsPerMinute,
    );
  }

  /**
   * Grants a slot now, or waits in line up to `maxWaitMs`; when the wait would be longer it answers with
   * how long the caller should stay away (so the queue can redeliver later instead).
   */
  async acquire(limits: GateLimits, leaseMs: number, maxWaitMs: number): Promise<GateGrant> {
    this.saveLimits(limits);
    const now = Date.now();
    this.expire(now);
    if (this.waiters.length === 0 && this.canStart(now)) return this.grant(now, leaseMs);
    const estimate = this.nextOpening(now);
    if (estimate > maxWaitMs) return { granted: false, waitMs: estimate };
    return new Promise<GateGrant>((resolve) => {
      const waiter: Waiter = {
        resolve,
        leaseMs,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve({ granted: false, waitMs: Math.max(1000, this.nextOpening(Date.now())) });
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  async release(leaseId: string): Promise<void> {
    if (this.leases.delete(leaseId)) this.sql.exec("DELETE FROM gate_leases WHERE id = ?", leaseId);
    this.drain();
  }

  /**
   * Up to `want` slots in one RPC (a consumer batch asks once instead of once per unit): waits in line for the
   * first as `acquire` does, then takes whatever else is free now without jumping anyone waiting. `extraStarts`
   * asks for start permits beyond the leases' own first calls; they are counted in the rate window now (a start
   * counted early can only make the rate lower), and `releaseMany` refunds the ones not spent.
   */
  async acquireMany(limits: GateLimits, want: number, leaseMs: number, maxWaitMs: number, extraStarts = 0): Promise<GateGrants> {
    const first = await this.acquire(limits, leaseMs, maxWaitMs);
    if (!first.granted) return first;
    const leaseIds = [first.leaseId];
    const now = Date.now();
    while (leaseIds.length < want && this.waiters.length === 0 && this.canStart(now)) {
      const g = this.grant(now, leaseMs);
      if (g.granted) leaseIds.push(g.leaseId);
    }
    const starts = Math.max(0, Math.min(Math.floor(extraStarts), this.limits.requestsPerMinute - this.starts.length));
    for (let i = 0; i < starts; i++) {
      this.starts.push(now);
      this.sql.exec("INSERT INTO gate_starts (at) VALUES (?)", now);
    }
    return { granted: true, leaseIds, starts, startsAt: now };
  }

  /** Releases several leases in one RPC and refunds start permits that were granted but never used. */
  async releaseMany(leaseIds: string[], unusedStarts = 0, startsAt = 0): Promise<void> {
    for (const id of leaseIds) if (this.leases.delete(id)) this.sql.exec("DELETE FROM gate_leases WHERE id = ?", id);
    // The refunded starts were counted at `startsAt` (the grant) and never happened: drop that many entries of that time.
    let refund = Math.max(0, Math.floor(unusedStarts));
    let refunded = 0;
    for (let i = this.starts.length - 1; i >= 0 && refund > 0 && this.starts[i] >= startsAt; i--) {
      if (this.starts[i] === startsAt) {
        this.starts.splice(i, 1);
        refund--;
        refunded++;
      }
    }
    if (refunded) this.sql.exec("DELETE FROM gate_starts WHERE rowid IN (SELECT rowid FROM gate_starts WHERE at = ? LIMIT ?)", startsAt, refunded);
    this.drain();
  }

  /** Extends live leases to `leaseMs` from now (a lease re-used for another call); answers the ids that had expired. */
  async renew(leaseIds: string[], leaseMs: number): Promise<string[]> {
    const now = Date.now();
    this.expire(now);
    const lost: string[] = [];
    for (const id of leaseIds) {
      if (this.leases.has(id)) {
        this.leases.set(id, now + leaseMs);
        this.sql.exec("UPDATE gate_leases SET until = ? WHERE id = ?", now + leaseMs, id);
      } else lost.push(id);
    }
    return lost;
  }

  /** Current state, for tests and debugging. */
  async snapshot() {
    this.expire(Date.now());
    return { inFlight: this.leases.size, startedLastMinute: this.starts.length, waiting: this.waiters.length, limits: this.limits };
  }

  private expire(now: number) {
    let expired = false;
    for (const [id, until] of this.leases) if (until <= now) expired = this.leases.delete(id) || expired;
    if (expired) this.sql.exec("DELETE FROM gate_leases WHERE until <= ?", now);
    let aged = false;
    while (this.starts.length && this.starts[0] <= now - WINDOW_MS) {
      this.starts.shift();
      aged = true;
    }
    if (aged) this.sql.exec("DELETE FROM gate_starts WHERE at <= ?", now - WINDOW_MS);
  }

  private canStart(now: number) {
    this.expire(now);
    return this.leases.size < this.limits.maxConcurrency && this.starts.length < this.limits.requestsPerMinute;
  }

  private grant(now: number, leaseMs: number): GateGrant {
    // Unique across restarts too: the counter starts again from 0 in a fresh instance.
    const leaseId = `${now}-${++this.seq}-${crypto.randomUUID().slice(0, 8)}`;
    this.leases.set(leaseId, now + leaseMs);
    this.starts.push(now);
    this.sql.exec("INSERT INTO gate_leases (id, until) VALUES (?, ?)", leaseId, now + leaseMs);
    this.sql.exec("INSERT INTO gate_starts (at) VALUES (?)", now);
    return { granted: true, leaseId };
  }

  /** Milliseconds until a slot could open (rate window or the earliest lease expiry). */
  private nextOpening(now: number): number {
    let wait = 0;
    if (this.starts.length >= this.limits.requestsPerMinute) {
      const idx = this.starts.length - this.limits.requestsPerMinute;
      wait = Math.max(wait, this.starts[idx] + WINDOW_MS - now);
    }
    if (this.leases.size >= this.limits.maxConcurrency) {
      // Usually a release comes much sooner; the expiry is the worst case.
      const soonest = Math.min(...this.leases.values());
      wait = Math.max(wait, Math.min(soonest - now, 250));
    }
    // Everyone already waiting goes first.
    const perSlot = this.limits.requestsPerMinute > 0 ? WINDOW_MS / this.limits.requestsPerMinute : WINDOW_MS;
    return Math.ceil(wait + (this.waiters.length / Math.max(1, this.limits.maxConcurrency)) * Math.min(perSlot, 1000));
  }

  private drain() {
    const now = Date.now();
    while (this.waiters.length && this.canStart(now)) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve(this.grant(now, w.leaseMs));
    }
    this.schedule();
  }

  /** When waiters are blocked by the rate window or by leases that may expire, wake up then. */
  private schedule() {
    if (this.wake || !this.waiters.length) return;
    const now = Date.now();
    let at = Infinity;
    if (this.starts.length >= this.limits.requestsPerMinute) at = this.starts[this.starts.length - this.limits.requestsPerMinute] + WINDOW_MS;
    if (this.leases.size >= this.limits.maxConcurrency) at = Math.min(at, Math.min(...this.leases.values()));
    if (at === Infinity) return;
    this.wake = setTimeout(
      () => {
        this.wake = undefined;
        this.drain();
      },
      Math.max(1, at - now),
    );
  }
}
