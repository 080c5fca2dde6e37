import { describe, expect, it } from "vitest";
import { MIN_YES_NO_MASS, normalizeYesNo, parseSampledAnswer, scorePersonaAnswer } from "../../src/kinds/persona/scorer";

const lp = (p: number) => Math.log(p);

describe("persona scoring", () => {
  it("normalises Yes/No surface forms", () => {
    for (const t of [" Yes", "Yes", "yes", "**Yes", "YES.", " y"]) expect(normalizeYesNo(t)).toBe("yes");
    for (const t of [" No", "No", "no", "**No**", "NO!"]) expect(normalizeYesNo(t)).toBe("no");
    for (const t of [" I", "Maybe", "", "Yesterday", "Note"]) expect(normalizeYesNo(t)).toBeNull();
  });

  it("P(match) = p(match) / (p(yes) + p(no)) over all yes and no forms", () => {
    const top = [
      { token: " Yes", logprob: lp(0.42) },
      { token: "Yes", logprob: lp(0.14) },
      { token: " No", logprob: lp(0.3) },
      { token: "no", logprob: lp(0.1) },
      { token: " I", logprob: lp(0.04) },
    ];
    const yesKeyed = scorePersonaAnswer("yes", "Yes", top);
    expect(yesKeyed.method).toBe("logprobs");
    expect(yesKeyed.mass).toBeCloseTo(0.96, 10);
    expect(yesKeyed.pMatch).toBeCloseTo(0.56 / 0.96, 10);
    const noKeyed = scorePersonaAnswer("no", "Yes", top);
    expect(noKeyed.pMatch).toBeCloseTo(0.4 / 0.96, 10);
    expect(noKeyed.pYes).toBeCloseTo(yesKeyed.pYes!, 12);
  });

  it("falls back to the sampled answer below the minimum yes/no mass, and counts the unparseable", () => {
    const thin = [
      { token: " banana", logprob: lp(0.7) },
      { token: " Yes", logprob: lp(MIN_YES_NO_MASS / 4) },
      { token: " No", logprob: lp(MIN_YES_NO_MASS / 4) },
    ];
    expect(scorePersonaAnswer("no", "No, never.", thin)).toMatchObject({ method: "sampled", pMatch: 1, sampled: "no" });
    expect(scorePersonaAnswer("yes", "banana lorem", thin)).toMatchObject({ method: null, pMatch: null });
    expect(scorePersonaAnswer("yes", "Yes, I would say that.", null)).toMatchObject({ method: "sampled", pMatch: 1 });
    expect(parseSampledAnswer("  no.")).toBe("no");
    expect(parseSampledAnswer(null)).toBeNull();
  });
});
