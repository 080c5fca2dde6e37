/** @module test/unit/metric-layer: the metric layer's estimator, paired comparison and tie groups. */
import { describe, expect, it } from "vitest";
import { pairedDifference } from "../../src/metrics/aggregate";
import { clusteredMean } from "../../src/metrics/estimators";
import { ciTieGroups } from "../../src/reports/overview";
import { formatJudgeKey, parseJudgeKey } from "../../src/judges/judge-key";

const obs = (item: string, sample: string, value: number) => ({ metric: "m", runId: "r", item, sample, value });

describe("metric layer", () => {
  it("clustered mean weighs each item the same and says why there is no interval", () => {
    const e = clusteredMean([[1, 1, 0, 0], [1]], { rate: true });
    expect(e.estimate).toBeCloseTo(0.75, 12);
    expect(e).toMatchObject({ n: 5, clusters: 2 });
    expect(e.lo).toBeGreaterThanOrEqual(0);
    expect(e.hi).toBeLessThanOrEqual(1);
    expect(clusteredMean([[0.4]])).toMatchObject({ estimate: 0.4, lo: null, hi: null, reason: expect.stringMatching(/one cluster/) });
    expect(clusteredMean([])).toMatchObject({ estimate: null, n: 0 });
  });

  it("pairs on (item, sample), reports dropped observations, and uses exact McNemar for one binary pair per item", () => {
    const a = [obs("i1", "0", 1), obs("i2", "0", 1), obs("i3", "0", 1), obs("i4", "0", 0), obs("i5", "0", 1)];
    const b = [obs("i1", "0", 0), obs("i2", "0", 0), obs("i3", "0", 0), obs("i4", "0", 0), obs("i6", "0", 1)];
    const c = pairedDifference(a, b, true);
    // Four items are below MIN_LABEL_CLUSTERS (6): the exact p is reported, but no label may rest on it (issue 11).
    expect(c).toMatchObject({ n: 4, clusters: 4, dropped: 2, valid: false });
    expect(c.estimate).toBeCloseTo(0.75, 12);
    expect(c.test).toMatch(/McNemar/);
    expect(c.p).toBeCloseTo(0.25, 12);
    expect(pairedDifference([obs("i1", "0", 1)], [obs("i1", "1", 1)], true)).toMatchObject({ valid: false, dropped: 2, estimate: null });
  });

  it("tie groups follow CI overlap with the group leader", () => {
    const g = ciTieGroups(
      [
        { key: "a", value: 0.9, lo: 0.85, hi: 0.95 },
        { key: "b", value: 0.86, lo: 0.8, hi: 0.9 },
        { key: "c", value: 0.5, lo: 0.4, hi: 0.6 },
      ],
      "higher",
    );
    expect([g.get("a"), g.get("b"), g.get("c")]).toEqual([1, 1, 2]);
  });

  it("judge keys round-trip", () => {
    const k = formatJudgeKey({ endpointId: "ep_1", revision: "r2", rubricVersion: "safety-v1" });
    expect(k).toBe("ep_1@r2|safety-v1");
    expect(parseJudgeKey(k)).toEqual({ endpointId: "ep_1", revision: "r2", rubricVersion: "safety-v1" });
    expect(parseJudgeKey("nonsense")).toBeNull();
  });
});
