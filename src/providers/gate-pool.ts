/**
 * @module providers/gate-pool: one consumer batch's side of its endpoints' gates. Instead of two Durable Object
 * calls per unit (acquire, release), a batch asks each endpoint's gate for many slots in one call, hands a slot
 * straight to its next unit when a call ends (the next call starts with no round trip), renews the slots it holds
 * in one call every few seconds, and gives back what it no longer needs in one call. The gate stays the only
 * authority: every slot is a lease the gate granted, and every call made on a re-used slot spends a start permit
 * the gate counted in its rate window, so `maxConcurrency` and `requestsPerMinute` hold across all consumers.
 */
import type { Env } from "../env";
import type { GateGrant, GateGrants, GateLimits } from "./gate";

/** A slot nobody in the batch asked for within this long goes back to the gate, for other consumers (ours). */
const IDLE_RETURN_MS = 25;
/** Held leases are renewed this often; a lease lives `leaseMs` (call timeout + margin) from its last renewal (ours). */
const RENEW_EVERY_MS = 2_500;
/** After the gate said "full", ask again this soon at most while this batch's own slots keep its units going (ours). */
const RETRY_ASK_MS = 250;

interface Waiter {
  resolve: (g: GateGrant) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Slots {
  limits: GateLimits;
  /** Idle leases; `fresh` ones have not made their first call, whose start the gate counted when granting them. */
  idle: { id: string; fresh: boolean }[];
  inUse: Set<string>;
  /** Start permits for re-used leases, by the gate's grant time (refunds name it). */
  permits: { at: number; left: number }[];
  waiting: Waiter[];
  asking: boolean;
  /** Units of this batch that will still ask (declared up front, counted down as they ask). */
  demand: number;
  toReturn: string[];
  returnTimer: ReturnType<typeof setTimeout> | undefined;
}

type GateStub = {
  acquireMany(limits: GateLimits, want: number, leaseMs: number, maxWaitMs: number, extraStarts: number): Promise<GateGrants>;
  releaseMany(leaseIds: string[], unusedStarts: number, startsAt: number): Promise<void>;
  renew(leaseIds: string[], leaseMs: number): Promise<string[]>;
};

export class GatePool {
  private slots = new Map<string, Slots>();
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  /** Durable Object calls made, for the batch's timing log and the bench. */
  rpcs = 0;
  /** Calls granted and the total time their slots were held (grant to release), for the timing log. */
  grants = 0;
  heldMs = 0;
  /** Most calls this batch had in flight at once, and leases the gate granted it. */
  peakInUse = 0;
  leasesGranted = 0;
  /** When each call's slot came back (ms since epoch), to see a batch's tail. */
  releasedAt: number[] = [];
  /** When the first call got a slot, and when the batch first held its endpoint's whole concurrency. */
  firstGrantAt = 0;
  fullAt = 0;

  private grantedAt = new Map<string, number>();
  private closed = false;

  /**
   * `demand`: how many units of this batch will ask for each endpoint (it sizes the slots and start permits asked for);
   * `maxHeld`: the most calls this invocation makes at once, so it never holds slots other consumers could use.
   */
  constructor(
    private env: Env,
    private leaseMs: number,
    private maxWaitMs: number,
    demand: Map<string, number> = new Map(),
    private maxHeld = Number.POSITIVE_INFINITY,
  ) {
    for (const [id, n] of demand) this.state(id, { maxConcurrency: 1, requestsPerMinute: 60 }).demand = n;
  }

  private gate(endpointId: string): GateStub {
    return this.env.ENDPOINT_GATE.get(this.env.ENDPOINT_GATE.idFromName(endpointId)) as unknown as GateStub;
  }

  private state(endpointId: string, limits: GateLimits): Slots {
    let s = this.slots.get(endpointId);
    if (!s) {
      s = { limits, idle: [], inUse: new Set(), permits: [], waiting: [], asking: false, demand: 0, toReturn: [], returnTimer: undefined };
      this.slots.set(endpointId, s);
    }
    s.limits = limits;
    return s;
  }

  /** A slot for one call, or how long to stay away (the gate is full beyond `maxWaitMs`). */
  acquire(endpointId: string, limits: GateLimits): Promise<GateGrant> {
    const s = this.state(endpointId, limits);
    s.demand = Math.max(0, s.demand - 1);
    return new Promise<GateGrant>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          s.waiting = s.waiting.filter((w) => w !== waiter);
          resolve({ granted: false, waitMs: 1000 });
        }, this.maxWaitMs),
      };
      s.waiting.push(waiter);
      this.pump(endpointId, s);
    });
  }

  /** The call on this slot ended: the next unit waiting in this batch gets it at once, else it goes back soon. */
  release(endpointId: string, leaseId: string): void {
    const s = this.slots.get(endpointId);
    if (!s || !s.inUse.delete(leaseId)) return;
    this.heldMs += Date.now() - (this.grantedAt.get(leaseId) ?? Date.now());
    this.releasedAt.push(Date.now());
    s.idle.push({ id: leaseId, fresh: false });
    this.pump(endpointId, s);
  }

  /** Where the batch's call time went, for its timing log (ms relative to `since`, when its calls began). */
  timing(since: number) {
    const done = [...this.releasedAt].sort((a, b) => a - b);
    const at = (q: number) => (done.length ? done[Math.min(done.length - 1, Math.floor(done.length * q))] - since : null);
    return {
      gateRpcs: this.rpcs,
      leases: this.leasesGranted,
      peakInUse: this.peakInUse,
      avgSlotMs: Math.round(this.heldMs / Math.max(1, this.grants)),
      firstGrantMs: this.firstGrantAt ? this.firstGrantAt - since : null,
      fullMs: this.fullAt ? this.fullAt - since : null,
      p50DoneMs: at(0.5),
      p95DoneMs: at(0.95),
    };
  }

  /** Gives every held slot and unspent start permit back (one call per endpoint); call once the batch's calls are over. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    await Promise.all(
      [...this.slots].map(async ([id, s]) => {
        if (s.returnTimer) clearTimeout(s.returnTimer);
        for (const w of s.waiting.splice(0)) {
          clearTimeout(w.timer);
          w.resolve({ granted: false, waitMs: 1000 });
        }
        const leases = [...s.toReturn.splice(0), ...s.idle.splice(0).map((l) => l.id), ...s.inUse];
        s.inUse.clear();
        const refunds = s.permits.splice(0).filter((p) => p.left > 0);
        if (!leases.length && !refunds.length) return;
        const gate = this.gate(id);
        this.rpcs += Math.max(1, refunds.length);
        try {
          await gate.releaseMany(leases, refunds[0]?.left ?? 0, refunds[0]?.at ?? 0);
          for (const p of refunds.slice(1)) await gate.releaseMany([], p.left, p.at);
        } catch (err) {
          // Never fail a batch whose calls are made over this: its results must still be stored. Leases expire on
          // their own within leaseMs, and an unrefunded permit only lowers the rate for the rest of the minute.
          console.error(JSON.stringify({ event: "gate.release_failed", endpointId: id, leases: leases.length, error: String(err) }));
        }
      }),
    );
  }

  private permitsLeft(s: Slots): number {
    return s.permits.reduce((a, p) => a + p.left, 0);
  }

  private spendPermit(s: Slots): boolean {
    const p = s.permits.find((x) => x.left > 0);
    if (!p) return false;
    p.left--;
    return true;
  }

  private pump(endpointId: string, s: Slots): void {
    while (s.waiting.length && s.idle.length) {
      // A fresh lease's first call is already counted; a re-used one spends a permit.
      const at = s.idle.findIndex((l) => l.fresh);
      if (at < 0 && !this.spendPermit(s)) break;
      const lease = s.idle.splice(at < 0 ? 0 : at, 1)[0];
      const w = s.waiting.shift()!;
      clearTimeout(w.timer);
      s.inUse.add(lease.id);
      this.grants++;
      this.peakInUse = Math.max(this.peakInUse, s.inUse.size);
      if (!this.firstGrantAt) this.firstGrantAt = Date.now();
      if (!this.fullAt && s.inUse.size >= s.limits.maxConcurrency) this.fullAt = Date.now();
      this.grantedAt.set(lease.id, Date.now());
      w.resolve({ granted: true, leaseId: lease.id });
    }
    // Re-used leases without permits are no use here; the rest go back if nobody asks for them shortly.
    if (s.idle.length && this.permitsLeft(s) === 0) {
      s.toReturn.push(...s.idle.filter((l) => !l.fresh).map((l) => l.id));
      s.idle = s.idle.filter((l) => l.fresh);
    }
    if (s.waiting.length) {
      // Units here wait for new slots: spent ones go back first, or they would count against the endpoint's concurrency.
      this.flushReturns(endpointId, s);
      this.ask(endpointId, s);
    } else if ((s.idle.length || s.toReturn.length) && !s.returnTimer) {
      // Nobody waits: what goes back goes together, shortly (at a batch's end every call's slot comes back within a few ms).
      s.returnTimer = setTimeout(() => {
        s.returnTimer = undefined;
        if (!s.waiting.length) s.toReturn.push(...s.idle.splice(0).map((l) => l.id));
        this.flushReturns(endpointId, s);
      }, IDLE_RETURN_MS);
    }
  }

  private flushReturns(endpointId: string, s: Slots): void {
    if (!s.toReturn.length) return;
    const ids = s.toReturn.splice(0);
    this.rpcs++;
    this.gate(endpointId)
      .releaseMany(ids, 0, 0)
      .catch(() => undefined); // A lease not returned expires on its own.
  }

  /**
   * One gate call for as many slots as this batch can use: its units waiting and still to ask, up to the endpoint's
   * concurrency and the invocation's call cap (issue 15: asking for the units waiting at the first call, often one,
   * took a second round trip to fill the endpoint).
   */
  private ask(endpointId: string, s: Slots): void {
    if (s.asking || !s.waiting.length || this.closed) return;
    const held = s.idle.length + s.inUse.size;
    const usable = Math.min(s.limits.maxConcurrency, this.maxHeld);
    // Holding every slot this batch can use, with permits left: the slots in use are handed on, nothing to ask.
    if (held >= usable && this.permitsLeft(s) > 0) return;
    s.asking = true;
    const want = Math.max(1, Math.min(s.waiting.length + s.demand, usable - held));
    // Calls this batch still expects beyond those the new leases' first starts cover.
    const extraStarts = Math.max(0, s.waiting.length + s.demand - want - this.permitsLeft(s));
    this.rpcs++;
    this.gate(endpointId)
      .acquireMany(s.limits, want, this.leaseMs, this.maxWaitMs, extraStarts)
      .then(
        (g) => {
          s.asking = false;
          if (g.granted && this.closed) {
            // The batch finished while this answer was on its way: give it straight back.
            void this.gate(endpointId)
              .releaseMany(g.leaseIds, g.starts, g.startsAt)
              .catch(() => undefined);
            return;
          }
          if (g.granted) {
            s.idle.push(...g.leaseIds.map((id) => ({ id, fresh: true })));
            this.leasesGranted += g.leaseIds.length;
            if (g.starts > 0) s.permits.push({ at: g.startsAt, left: g.starts });
            this.startRenewing();
          } else if (s.inUse.size === 0 || this.permitsLeft(s) === 0) {
            // Nobody in this batch will hand a slot on: the waiting units go back to the queue for `waitMs`.
            for (const w of s.waiting.splice(0)) {
              clearTimeout(w.timer);
              w.resolve(g);
            }
            return;
          } else {
            // Slots in use here will be handed on; ask the gate again only after a while (not in a loop).
            s.asking = true;
            setTimeout(
              () => {
                s.asking = false;
                this.pump(endpointId, s);
              },
              Math.min(g.waitMs, RETRY_ASK_MS),
            );
            return;
          }
          this.pump(endpointId, s);
        },
        () => {
          s.asking = false;
          for (const w of s.waiting.splice(0)) {
            clearTimeout(w.timer);
            w.resolve({ granted: false, waitMs: 1000 });
          }
        },
      );
  }

  /** Keeps held leases alive while the batch re-uses them (one call per endpoint every RENEW_EVERY_MS). */
  private startRenewing(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      for (const [id, s] of this.slots) {
        const held = [...s.inUse, ...s.idle.map((l) => l.id)];
        if (!held.length) continue;
        this.rpcs++;
        this.gate(id)
          .renew(held, this.leaseMs)
          .then((lost) => {
            // A lease that expired anyway (the gate restarted) is dropped; its call, if any, finishes unaffected.
            for (const l of lost) s.inUse.delete(l);
            s.idle = s.idle.filter((l) => !lost.includes(l.id));
          })
          .catch(() => undefined);
      }
    }, RENEW_EVERY_MS);
  }
}
