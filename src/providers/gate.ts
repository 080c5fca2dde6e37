/**
 * @module providers/gate: one Durable Object per endpoint that holds `maxConcurrency` and `requestsPerMinute`
 * across every concurrent queue consumer. Callers wait in a FIFO inside the object, so a slot costs two RPCs
 * (acquire, release) instead of polling.
 */
import { DurableObject } from "cloudflare:workers";

export interface GateLimits {
  maxConcurrency: number;
  requestsPerMinute: number;
}

export type GateGrant = { granted: true; leaseId: string } | { granted: false; waitMs: number };

const WINDOW_MS = 60_000;

interface Waiter {
  resolve: (g: GateGrant) => void;
  timer: ReturnType<typeof setTimeout>;
  leaseMs: number;
}

export class EndpointGate extends DurableObject {
  private limits: GateLimits = { maxConcurrency: 1, requestsPerMinute: 60 };
  /** leaseId -> expiry; a lease expires so a crashed consumer cannot hold a slot forever. */
  private leases = new Map<string, number>();
  /** Start times of grants inside the last minute (sliding window). */
  private starts: number[] = [];
  private waiters: Waiter[] = [];
  private wake: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  /**
   * Grants a slot now, or waits in line up to `maxWaitMs`; when the wait would be longer it answers with
   * how long the caller should stay away (so the queue can redeliver later instead).
   */
  async acquire(limits: GateLimits, leaseMs: number, maxWaitMs: number): Promise<GateGrant> {
    this.limits = limits;
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
    this.leases.delete(leaseId);
    this.drain();
  }

  /** Current state, for tests and debugging. */
  async snapshot() {
    this.expire(Date.now());
    return { inFlight: this.leases.size, startedLastMinute: this.starts.length, waiting: this.waiters.length, limits: this.limits };
  }

  private expire(now: number) {
    for (const [id, until] of this.leases) if (until <= now) this.leases.delete(id);
    while (this.starts.length && this.starts[0] <= now - WINDOW_MS) this.starts.shift();
  }

  private canStart(now: number) {
    this.expire(now);
    return this.leases.size < this.limits.maxConcurrency && this.starts.length < this.limits.requestsPerMinute;
  }

  private grant(now: number, leaseMs: number): GateGrant {
    const leaseId = `${now}-${++this.seq}`;
    this.leases.set(leaseId, now + leaseMs);
    this.starts.push(now);
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
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.drain();
    }, Math.max(1, at - now));
  }
}
