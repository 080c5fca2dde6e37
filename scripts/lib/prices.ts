/**
 * @module prices: Cloudflare's published Workers Paid prices beyond the monthly inclusions (USD), as read on
 * 2026-12-06 from the pages named in `source` (docs/capacity.md cites them too). Marginal prices: the $5/month
 * plan fee and the included allowances are left out, so a figure is what the next 10,000 judgments add.
 */
export const PRICES = {
  /** Workers Standard: $0.30 per million requests (invocations), $0.02 per million CPU ms. */
  workerRequestPerM: 0.3,
  workerCpuMsPerM: 0.02,
  /** Queues: $0.40 per million operations; a delivered message is 3 operations (write, read, delete) per 64 KB. */
  queueOpPerM: 0.4,
  queueOpsPerMessage: 3,
  /** D1: $0.001 per million rows read, $1.00 per million rows written, $0.75 per GB-month stored (beyond 5 GB). */
  d1RowReadPerM: 0.001,
  d1RowWrittenPerM: 1.0,
  d1GbMonth: 0.75,
  /** Durable Objects: $0.15 per million requests (each RPC call is one). */
  doRequestPerM: 0.15,
  /** R2 Standard: $0.015 per GB-month, $4.50 per million Class A (writes), $0.36 per million Class B (reads). */
  r2GbMonth: 0.015,
  r2ClassAPerM: 4.5,
  r2ClassBPerM: 0.36,
  source: {
    read_on: "2026-12-06",
    pages: [
      "https://developers.cloudflare.com/workers/platform/pricing/",
      "https://developers.cloudflare.com/queues/platform/pricing/",
      "https://developers.cloudflare.com/d1/platform/pricing/",
      "https://developers.cloudflare.com/durable-objects/platform/pricing/",
      "https://developers.cloudflare.com/r2/pricing/",
    ],
  },
};

export interface UnitFigures {
  cpuMsPerUnit: number;
  rowsWrittenPerUnit: number;
  rowsReadPerUnit: number;
  bytesPerUnit: number;
  queueMessagesPerUnit: number;
  /** Units one consumer invocation handles (one Workers request each). */
  unitsPerInvocation: number;
  /** Durable Object RPCs per unit (gate calls). */
  doCallsPerUnit?: number;
  /** R2 puts (Class A) per unit and compressed bytes stored in R2 per unit (raw answers). */
  r2PutsPerUnit?: number;
  r2BytesPerUnit?: number;
}

/** Marginal platform cost of 10,000 judgments (model fees excluded); storage counted for one month. */
export function costPer10k(f: UnitFigures) {
  const n = 10_000;
  const p = PRICES;
  const parts = {
    worker_requests: ((n / f.unitsPerInvocation) * p.workerRequestPerM) / 1e6,
    worker_cpu: (n * f.cpuMsPerUnit * p.workerCpuMsPerM) / 1e6,
    queue_operations: (n * f.queueMessagesPerUnit * p.queueOpsPerMessage * p.queueOpPerM) / 1e6,
    d1_rows_written: (n * f.rowsWrittenPerUnit * p.d1RowWrittenPerM) / 1e6,
    d1_rows_read: (n * f.rowsReadPerUnit * p.d1RowReadPerM) / 1e6,
    d1_storage_one_month: ((n * f.bytesPerUnit) / 1e9) * p.d1GbMonth,
    durable_object_requests: (n * (f.doCallsPerUnit ?? 0) * p.doRequestPerM) / 1e6,
    r2_writes: (n * (f.r2PutsPerUnit ?? 0) * p.r2ClassAPerM) / 1e6,
    r2_storage_one_month: ((n * (f.r2BytesPerUnit ?? 0)) / 1e9) * p.r2GbMonth,
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  const r = (x: number) => Math.round(x * 1e5) / 1e5;
  return { total: r(total), ...Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, r(v)])) };
}
