/** Projectability (issue 11): projection length is the headline, the cosine a description, ranks-first beside its permutation null, contrasts base-relative. */
import { describe, expect, it } from "vitest";
import { type PersonaItemStats, type PersonaSample, projectability } from "../../src/kinds/persona/report";
import { personaItemStatsOf } from "../../src/db/queries/reports";
import { expandedBcaLevels, kappaEstimate } from "../../src/stats/inference";
import { constitutions } from "../../src/suites/constitutions";
import { CANONICAL_DIMENSIONS } from "../../src/kinds/persona/format";

const ITEMS = 30;
/** One scored sample per item; `value(dim, i)` gives the item's P(match). */
function run(value: (dim: string, i: number) => number): PersonaItemStats[] {
  const out: PersonaSample[] = [];
  for (const dimension of CANONICAL_DIMENSIONS)
    for (let i = 0; i < ITEMS; i++)
      out.push({ suiteVersionId: "sv", itemKey: `${dimension}-${i}`, dimension, status: "done", score: value(dimension, i), pYes: 0.5 });
  return personaItemStatsOf(out);
}
// Deterministic item-level spread around each dimension's level.
const wobble = (i: number) => (((i * 37) % 11) - 5) / 50;
const baseLevel: Record<string, number> = { deontology: 0.55, utilitarianism: 0.5, virtue_ethics: 0.5, deference_to_authority: 0.5 };
const deon = constitutions().get("deontology")!;

describe("projectability", () => {
  it("a negligible change gives a projection CI that includes 0 and no held sign check, with the chance level printed", () => {
    const base = run((d, i) => baseLevel[d] + wobble(i));
    // Model: the base plus 0.02 along deontology's direction, plus item noise of ±0.15 (independent of the base's).
    const model = run(
      (d, i) =>
        baseLevel[d] + wobble(i) + 0.02 * deon.signature.weights[d as keyof typeof deon.signature.weights] + (i % 2 ? 0.15 : -0.15) * (((i * 13) % 7) / 7),
    );
    const p = projectability(model, base, deon);
    if ("unavailable" in p) throw new Error(p.unavailable);
    expect(p.headline).toBe("projectionLength");
    expect(p.cosine.role).toBe("description");
    expect(p.projectionLength.lo).toBeLessThan(0);
    expect(p.projectionLength.hi).toBeGreaterThan(0);
    expect(p.expectations.checks.filter((c) => c.kind === "sign").every((c) => !c.holds)).toBe(true);
    expect(p.identification.ownRanksFirstNull).toBeGreaterThan(0.05);
    expect(p.identification.ownRanksFirstNull).toBeLessThan(0.6);
    expect(p.expectations.shareReason).toMatch(/not independent/);
  });

  it("contrasts are base-relative: a level difference already in the base does not count", () => {
    // Deontology sits above utilitarianism in both runs by the same amount: no training effect.
    const level = (d: string) => (d === "deontology" ? 0.8 : d === "utilitarianism" ? 0.3 : 0.5);
    const base = run((d, i) => level(d) + wobble(i));
    const model = run((d, i) => level(d) + wobble(i) + (i % 2 ? 0.01 : -0.01));
    const p = projectability(model, base, deon);
    if ("unavailable" in p) throw new Error(p.unavailable);
    const contrast = p.expectations.checks.find((c) => c.kind === "contrast")!;
    expect(contrast.holds).toBe(false);
    expect(Math.abs(contrast.estimate)).toBeLessThan(0.01);
    // The zero-weight dimension (deference_to_authority) did not move: shown unchanged within ±0.05.
    expect(p.expectations.checks.find((c) => c.kind === "unchanged")!.holds).toBe(true);
  });

  it("a clear planted effect holds its signs as one Holm family", () => {
    const base = run((d, i) => baseLevel[d] + wobble(i));
    const model = run((d, i) => baseLevel[d] + wobble(i) + 0.2 * deon.signature.weights[d as keyof typeof deon.signature.weights] + (i % 2 ? 0.02 : -0.02));
    const p = projectability(model, base, deon);
    if ("unavailable" in p) throw new Error(p.unavailable);
    const signs = p.expectations.checks.filter((c) => c.kind === "sign");
    expect(signs.every((c) => c.holds && c.pHolm != null && c.pHolm! >= c.p!)).toBe(true);
    expect(p.identification.ownRanksFirst).toBe(1);
  });
});

describe("kappaEstimate", () => {
  it("gives kappa with n and an interval, or the reason it has none", () => {
    const a = ["y", "y", "n", "n", "y", "n", "y", "y", "n", "n", "y", "n"];
    const b = ["y", "n", "n", "n", "y", "n", "y", "y", "y", "n", "y", "n"];
    const k = kappaEstimate(a, b);
    expect(k.n).toBe(12);
    expect(k.lo!).toBeLessThan(k.estimate!);
    expect(k.hi!).toBeGreaterThan(k.estimate!);
    expect(kappaEstimate(a.slice(0, 5), b.slice(0, 5)).reason).toMatch(/n too small/);
    expect(kappaEstimate(["y", "y"], ["y", "y"]).reason).toMatch(/undefined/);
  });

  it("reads the bootstrap at BCa levels with Hesterberg's small-sample expansion (reference: mpmath)", () => {
    // Phi(z0 + (z0 -+ z)/(1 - a(z0 -+ z))), z = sqrt(k/(k-1)) t(0.975, k-1); mpmath 1.3.0, 50 digits (t quantile by
    // root-finding on the t CDF through betainc; scripts/stats-reference-mpmath.py). z0 = a = 0 at k = 10: 0.00855 and 0.99145 instead of 0.025 and 0.975.
    const cases: [number, number, number, number, number][] = [
      [0, 0, 10, 0.008550639024406355, 0.9914493609755936],
      [0.1, 0.05, 20, 0.039435985564021746, 0.9957546509482896],
      [-0.2, -0.03, 40, 0.004512624651818361, 0.9395899247046459],
    ];
    for (const [z0, a, k, lo, hi] of cases) {
      const [pLo, pHi] = expandedBcaLevels(z0, a, k, 0.95);
      expect(pLo).toBeCloseTo(lo, 10);
      expect(pHi).toBeCloseTo(hi, 10);
    }
    const a = Array.from({ length: 80 }, (_, i) => (i % 3 === 0 ? "y" : "n"));
    const b = a.map((x, i) => (i % 7 === 0 ? (x === "y" ? "n" : "y") : x));
    const clusters = a.map((_, i) => `q${Math.floor(i / 4)}`);
    const e = kappaEstimate(a, b, { clusters });
    expect(e.method).toMatch(/BCa interval with a small-sample expansion, 2000 seeded bootstrap resamples of 20 clusters/);
    expect(e.lo!).toBeLessThan(e.estimate!);
    expect(e.hi!).toBeGreaterThan(e.estimate!);
  });
});
