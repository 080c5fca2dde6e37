/** Rank intervals from the bootstrap and the tie rule the leaderboard documents (docs/leaderboard.md). */
import { describe, expect, it } from "vitest";
import { assignTiers, bootstrapRankIntervals, competitionRanks, type RankInput, stratifiedMean } from "../../src/reports/leaderboard";
import { createRng } from "../../src/stats/rng";

/** A row of `items` Bernoulli(p) item scores in one stratum (shared item keys across rows). */
function row(id: string, p: number, items: number, seed: number, stratum = "s"): RankInput {
  const rng = createRng(seed);
  const m = new Map<string, number>();
  for (let i = 0; i < items; i++) m.set(`item${i}`, rng() < p ? 1 : 0);
  const strata = new Map([[stratum, m]]);
  return { id, estimate: stratifiedMean(strata), strata };
}

describe("competition ranks", () => {
  it("rank 1 is best, equal values share the better rank, and lower-is-better flips the order", () => {
    expect(competitionRanks([0.5, 0.9, 0.5, 0.1], "higher")).toEqual([2, 1, 2, 4]);
    expect(competitionRanks([0.5, 0.9, 0.5, 0.1], null)).toEqual([2, 1, 2, 4]);
    expect(competitionRanks([0.5, 0.9, 0.5, 0.1], "lower")).toEqual([2, 4, 2, 1]);
  });
});

describe("tiers and ties from rank intervals", () => {
  it("separated intervals give one tier each and no ties", () => {
    const t = assignTiers([
      { id: "a", rankLo: 1, rankHi: 1 },
      { id: "b", rankLo: 2, rankHi: 2 },
      { id: "c", rankLo: 3, rankHi: 3 },
    ]);
    expect(t.map((x) => x.tier)).toEqual([1, 2, 3]);
    expect(t.every((x) => x.tiedWith.length === 0)).toBe(true);
  });

  it("a chain of overlaps starts a new tier where a row no longer overlaps its tier's leader", () => {
    const t = assignTiers([
      { id: "a", rankLo: 1, rankHi: 2 },
      { id: "b", rankLo: 1, rankHi: 3 },
      { id: "c", rankLo: 3, rankHi: 4 },
      { id: "d", rankLo: 3, rankHi: 4 },
    ]);
    expect(t.map((x) => x.tier)).toEqual([1, 1, 2, 2]);
    // c is tied with b (2-3 overlaps 3-4) even though they sit in different tiers.
    expect(t.find((x) => x.id === "c")!.tiedWith).toEqual(["b", "d"]);
    expect(t.find((x) => x.id === "a")!.tiedWith).toEqual(["b"]);
  });
});

describe("bootstrap rank intervals", () => {
  it("well-separated models get single ranks; indistinguishable ones overlap", () => {
    const rows = [row("strong", 0.9, 80, 1), row("middle", 0.5, 80, 2), row("weak", 0.1, 80, 3)];
    const iv = bootstrapRankIntervals(rows, "higher", { seed: 7 });
    expect(iv.get("strong")).toEqual({ rank: 1, lo: 1, hi: 1 });
    expect(iv.get("middle")).toEqual({ rank: 2, lo: 2, hi: 2 });
    expect(iv.get("weak")).toEqual({ rank: 3, lo: 3, hi: 3 });

    const close = [row("x", 0.52, 40, 11), row("y", 0.5, 40, 12), row("z", 0.48, 40, 13)];
    const civ = bootstrapRankIntervals(close, "higher", { seed: 7 });
    const tiers = assignTiers(
      [...close].sort((a, b) => b.estimate - a.estimate).map((r) => ({ id: r.id, rankLo: civ.get(r.id)!.lo, rankHi: civ.get(r.id)!.hi })),
    );
    expect(tiers.every((t) => t.tier === 1 && t.tiedWith.length === 2)).toBe(true);
  });

  it("identical answers tie at the same rank, the point rank lies in its interval, and a seed reproduces the result", () => {
    const a = row("a", 0.6, 30, 5);
    const b = { ...a, id: "b" };
    const iv = bootstrapRankIntervals([a, b, row("c", 0.05, 30, 6)], "higher", { seed: 1 });
    expect(iv.get("a")).toEqual({ rank: 1, lo: 1, hi: 1 });
    expect(iv.get("b")).toEqual({ rank: 1, lo: 1, hi: 1 });
    const rows = [row("p", 0.55, 25, 21), row("q", 0.45, 25, 22), row("r", 0.5, 25, 23)];
    const one = bootstrapRankIntervals(rows, "lower", { seed: 99 });
    expect(bootstrapRankIntervals(rows, "lower", { seed: 99 })).toEqual(one);
    for (const r of rows) {
      const x = one.get(r.id)!;
      expect(x.lo).toBeLessThanOrEqual(x.rank);
      expect(x.hi).toBeGreaterThanOrEqual(x.rank);
    }
    // Lower is better: the lowest rate ranks first.
    expect(one.get("q")!.rank).toBe(1);
  });

  it("resamples items jointly, so a consistent small lead on the same items is resolved", () => {
    // b answers every item like a, plus 6 more of 60: independent resampling could not separate them, pairing can.
    const a = row("a", 0.5, 60, 31);
    const bItems = new Map(a.strata.get("s")!);
    let flipped = 0;
    for (const [k, v] of bItems) if (v === 0 && flipped < 6) (bItems.set(k, 1), flipped++);
    const b: RankInput = { id: "b", estimate: stratifiedMean(new Map([["s", bItems]])), strata: new Map([["s", bItems]]) };
    const iv = bootstrapRankIntervals([a, b], "higher", { seed: 3 });
    expect(iv.get("b")).toEqual({ rank: 1, lo: 1, hi: 1 });
    expect(iv.get("a")).toEqual({ rank: 2, lo: 2, hi: 2 });
  });

  it("averages strata with equal weight (the macro average of category rates)", () => {
    const strata = new Map([
      [
        "c1",
        new Map([
          ["p1", 1],
          ["p2", 1],
        ]),
      ],
      [
        "c2",
        new Map([
          ["p3", 0],
          ["p4", 0],
          ["p5", 1],
          ["p6", 0],
        ]),
      ],
    ]);
    expect(stratifiedMean(strata)).toBeCloseTo((1 + 0.25) / 2, 12);
    const single = bootstrapRankIntervals([{ id: "only", estimate: 0.6, strata }], "higher");
    expect(single.get("only")).toEqual({ rank: 1, lo: 1, hi: 1 });
  });
});
