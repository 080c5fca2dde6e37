/** @module reports/svg/scale: linear scales and tick choice for the charts. */

/** Maps [d0, d1] onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}

/** Steps a tick may take; the smallest that gives at most `maxTicks` intervals is used. */
const NICE_STEPS = [0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10];

/** A step for `span` with at most `maxTicks` intervals. */
export function niceStep(span: number, maxTicks = 4): number {
  for (const s of NICE_STEPS) if (span / s <= maxTicks + 1e-9) return s;
  return NICE_STEPS[NICE_STEPS.length - 1];
}

/** A domain around `values` that includes `include` (e.g. 0), widened to whole steps. */
export function niceDomain(values: number[], include: number[] = [], maxTicks = 4): [number, number] {
  const finite = [...values, ...include].filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    lo -= 0.05;
    hi += 0.05;
  }
  const step = niceStep(hi - lo, maxTicks);
  return [Math.floor(lo / step - 1e-9) * step, Math.ceil(hi / step - 1e-9) * step].map((x) => Math.round(x * 1e6) / 1e6 + 0) as [number, number];
}

/** Ticks from d0 to d1 at the nice step (floating error removed). */
export function ticks(d0: number, d1: number, maxTicks = 4): number[] {
  const step = niceStep(d1 - d0, maxTicks);
  const out: number[] = [];
  for (let i = Math.ceil(d0 / step - 1e-9); i * step <= d1 + 1e-9; i++) out.push(Math.round(i * step * 1e6) / 1e6 + 0);
  return out;
}

/** A tick label: no trailing zeros, true minus sign. */
export function tickLabel(x: number): string {
  const s = String(Math.round(x * 1000) / 1000);
  return s.startsWith("-") ? `−${s.slice(1)}` : s;
}
