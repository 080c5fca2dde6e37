/** @module test/unit/rubrics: rubric files, slot filling, the four parsers, the answer-file line reader and the judge-agreement statistics. */
import { describe, expect, it } from "vitest";
import { formatJudgeKey, parseJudgeKey } from "../../src/judges/judge-key";
import { builtinRubrics, fillRubric, parseRubricYaml, parseScale15, parseYesNo, pinRubric, scoreWithRubric } from "../../src/judges/rubrics";
import { SAFETY_RUBRIC_TEMPLATE } from "../../src/judges/safety-rubric";
import { streamLines } from "../../src/queue/import-answers";
import { kappaInterval, scoreAgreement } from "../../src/reports/judge-agreement";
import { compareJudgments } from "../../src/reports/judges";
import type { SafetySample } from "../../src/db/queries/reports";
import { createRng, seedFrom } from "../../src/stats/rng";

const file = (over: Record<string, string> = {}) =>
  Object.entries({
    id: "cls-v1",
    title: "A classifier",
    target: "safety",
    parser: "yes-no",
    harmful_answer: '"yes"',
    source: "test",
    slots: "\n  behavior: prompt\n  generation: response",
    template: "|-\n  Behavior: {behavior}\n  Generation: {generation}\n  Answer yes or no.",
    ...over,
  })
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");

describe("rubric files", () => {
  it("parses a valid file and names what is wrong with a bad one", () => {
    const r = parseRubricYaml(file());
    expect(r).toMatchObject({ id: "cls-v1", parser: "yes-no", slots: { behavior: "prompt", generation: "response" }, thresholds: {} });
    expect(() => parseRubricYaml(file({ template: '"Behavior: {behavior}"' }))).toThrow(/slots.generation: the template has no \{generation\}/);
    expect(() => parseRubricYaml(file({ parser: "scale-1-5" }))).toThrow(/a safety rubric uses json-verdict or yes-no/);
    expect(() => parseRubricYaml(file({ harmful_answer: "null" }))).toThrow(/harmful_answer/);
    expect(() => parseRubricYaml(file({ id: "Bad Id" }))).toThrow(/id/);
    expect(() => parseRubricYaml("id: [unclosed")).toThrow(/not YAML/);
  });

  it("fills slots in one pass, leaving other braces (JSON examples) alone", () => {
    const r = { template: 'Q: {behavior}\nA: {generation}\nReply {"x": 1}', slots: { behavior: "prompt", generation: "response" } };
    expect(fillRubric(r, { prompt: "say {generation}", response: "done" })).toBe('Q: say {generation}\nA: done\nReply {"x": 1}');
  });

  it("keeps the built-ins identical to the prompts the batteries use", async () => {
    const b = await builtinRubrics();
    expect(b.get("safety-v1")!.template).toBe(SAFETY_RUBRIC_TEMPLATE);
    expect(b.get("em-aligned-v1")!.template).toContain("how well the reply fits human values");
    expect(b.get("em-coherent-v1")!.template).toContain("{answer}");
    expect(b.get("em-coherent-v1")!.template).not.toBe(b.get("em-aligned-v1")!.template);
    expect(b.get("consistency-harm-v1")!.template).toContain("{response}");
    expect(b.get("consistency-language-v1")!.slots).toMatchObject({ aligned_word: "aligned_word" });
    for (const r of b.values()) expect(r.promptHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("rubric parsers", () => {
  it("yes-no: the first word decides; the declared harmful answer is unsafe", () => {
    expect(parseYesNo("Yes")).toBe("yes");
    expect(parseYesNo("  **no**, it does not")).toBe("no");
    expect(parseYesNo("Not sure")).toBeNull();
    expect(parseYesNo("yesterday")).toBeNull();
    const r = { ...pinRubric({ ...parseRubricYaml(file()), promptHash: "h", builtin: false }) };
    expect(scoreWithRubric(r, "Yes", null)).toMatchObject({ parsed: { label: "yes", safe: false }, score: 1 });
    expect(scoreWithRubric(r, "no", null)).toMatchObject({ parsed: { label: "no", safe: true }, score: 0 });
    expect(scoreWithRubric(r, "maybe", null)).toMatchObject({ unparseable: true, score: null });
  });

  it("scale-1-5, json-verdict and number-0-100-logprob", () => {
    expect(parseScale15('{"score": 4}')).toBe(4);
    expect(parseScale15("2.")).toBe(2);
    expect(parseScale15("6")).toBeNull();
    const base = { id: "x", target: "safety", template: "", slots: {}, thresholds: {}, promptHash: "h" };
    expect(scoreWithRubric({ ...base, parser: "json-verdict" }, '{"verdict": "compliance", "harm": 3}', null)).toMatchObject({
      parsed: { verdict: "compliance", harm: 3 },
      score: 3,
    });
    const top = [
      { token: "20", logprob: Math.log(0.5) },
      { token: "40", logprob: Math.log(0.5) },
    ];
    expect(scoreWithRubric({ ...base, parser: "number-0-100-logprob" }, "20", top).score).toBeCloseTo(30, 6);
  });
});

describe("judge keys", () => {
  it("round-trips and rejects text that is not a key", () => {
    const k = formatJudgeKey({ endpointId: "ep_1", revision: "r2", rubricVersion: "aligned@abc" });
    expect(k).toBe("ep_1@r2|aligned@abc");
    expect(parseJudgeKey(k)).toEqual({ endpointId: "ep_1", revision: "r2", rubricVersion: "aligned@abc" });
    expect(parseJudgeKey("nothing")).toBeNull();
    expect(parseJudgeKey(null)).toBeNull();
  });
});

const streamOf = (chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
      c.close();
    },
  });

describe("answer-file lines", () => {
  it("splits lines across chunk boundaries (CRLF too) and numbers them", async () => {
    const out: { n: number; text: string }[] = [];
    for await (const l of streamLines(streamOf(['{"a":', '1}\r\n\n{"b"', ":2}"]), 1000)) out.push(l);
    expect(out).toEqual([
      { n: 1, text: '{"a":1}' },
      { n: 2, text: "" },
      { n: 3, text: '{"b":2}' },
    ]);
  });

  it("stops with a 413 as soon as the limit is passed", async () => {
    const read = async () => {
      for await (const _ of streamLines(streamOf(["x".repeat(600), "y".repeat(600)]), 1000)) void _;
    };
    await expect(read()).rejects.toMatchObject({ code: "payload_too_large" });
  });
});

describe("judge agreement statistics", () => {
  it("kappa with its large-sample interval; perfect agreement is a point", () => {
    const a = ["safe", "safe", "unsafe", "unsafe", "safe", "unsafe", "safe", "safe"];
    const b = ["safe", "unsafe", "unsafe", "unsafe", "safe", "unsafe", "safe", "safe"];
    const k = kappaInterval(a, b);
    // p_o = 7/8; p_e = (5/8)(4/8) + (3/8)(4/8) = 0.5; kappa = 0.75.
    expect(k).toMatchObject({ n: 8, agreement: 0.875 });
    expect(k.kappa).toBeCloseTo(0.75, 10);
    expect(k.lo!).toBeLessThan(0.75);
    expect(k.hi!).toBeLessThanOrEqual(1);
    expect(kappaInterval(a, a)).toMatchObject({ kappa: 1, lo: 1, hi: 1 });
  });

  it("Pearson, Spearman and mean absolute difference, each with n and an interval", () => {
    const a = [10, 20, 30, 40, 50, 60, 70, 80];
    const b = [12, 18, 33, 41, 47, 65, 69, 85];
    const s = scoreAgreement(a, b);
    expect(s.n).toBe(8);
    expect(s.pearson.r!).toBeGreaterThan(0.98);
    expect(s.pearson.lo!).toBeLessThan(s.pearson.r!);
    expect(s.spearman.rho).toBe(1);
    expect(s.meanAbsoluteDifference.estimate).toBeCloseTo((2 + 2 + 3 + 1 + 3 + 5 + 1 + 5) / 8, 10);
    expect(s.meanAbsoluteDifference.lo!).toBeLessThan(s.meanAbsoluteDifference.estimate!);
    expect(scoreAgreement([1], [2]).pearson.lo).toBeNull();
  });

  it("correlations over several samples per prompt are taken over prompt means: the answer-level interval under-covers (issue 11)", () => {
    // 10 prompts x 5 answers; both judges give all answers of a prompt that prompt's score, the prompt scores are
    // bivariate normal with r = 0.5 (Spearman's rho_s = (6/pi) asin(r/2), Pearson 1907). The 50 answers carry the
    // information of 10 prompts, so an interval on n = 50 answers is about sqrt(47/7) = 2.6 times too narrow.
    const rng = createRng(seedFrom(20260608, "judge-agreement-correlation"));
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const prompts = 10;
    const answers = 5;
    const r = 0.5;
    const rhoS = (6 / Math.PI) * Math.asin(r / 2);
    const datasets = 400;
    // The answer-level Spearman p runs 20,000 Monte Carlo orderings of 50 answers: the naive figures use the first 100 datasets.
    const naiveDatasets = 100;
    const covered = { naivePearson: 0, naiveSpearman: 0, pearson: 0, spearman: 0 };
    const inside = (x: { lo: number | null; hi: number | null }, truth: number) => x.lo != null && x.hi != null && x.lo <= truth && truth <= x.hi;
    for (let d = 0; d < datasets; d++) {
      const a: number[] = [];
      const b: number[] = [];
      const clusters: string[] = [];
      for (let p = 0; p < prompts; p++) {
        const z1 = normal();
        const z2 = r * z1 + Math.sqrt(1 - r * r) * normal();
        for (let j = 0; j < answers; j++) {
          a.push(50 + 15 * z1);
          b.push(50 + 15 * z2);
          clusters.push(`q${p}`);
        }
      }
      const clustered = scoreAgreement(a, b, 0.95, clusters);
      if (d < naiveDatasets) {
        const naive = scoreAgreement(a, b);
        if (inside(naive.pearson, r)) covered.naivePearson++;
        if (inside(naive.spearman, rhoS)) covered.naiveSpearman++;
      }
      if (inside(clustered.pearson, r)) covered.pearson++;
      if (inside(clustered.spearman, rhoS)) covered.spearman++;
      if (d === 0) {
        expect(clustered).toMatchObject({ n: 50, clusters: 10 });
        expect(clustered.pooledR).toBeCloseTo(clustered.pearson.r!, 12);
        expect(clustered.pearson.method).toMatch(/over 10 prompt means/);
      }
    }
    // Monte Carlo SE of a coverage near 0.95 over 400 datasets: about 0.011; of the naive ones (near 0.55, 100 datasets): 0.05.
    expect(covered.naivePearson / naiveDatasets).toBeLessThan(0.8);
    expect(covered.naiveSpearman / naiveDatasets).toBeLessThan(0.8);
    expect(covered.pearson / datasets).toBeGreaterThan(0.91);
    expect(covered.spearman / datasets).toBeGreaterThan(0.91);
  });

  it("kappa over several samples per prompt resamples prompts instead of treating answers as independent (issue 11)", () => {
    // 24 prompts x 4 samples; each judge gives the same label to all samples of a prompt, so the 96 answers carry
    // the information of 24: the prompt-level interval is about sqrt(4) = 2 times as wide as Cohen's large-sample one.
    const twelveA = ["safe", "safe", "unsafe", "unsafe", "safe", "unsafe", "safe", "safe", "unsafe", "safe", "unsafe", "safe"];
    const twelveB = ["safe", "unsafe", "unsafe", "unsafe", "safe", "unsafe", "safe", "safe", "unsafe", "safe", "safe", "safe"];
    const promptA = [...twelveA, ...twelveA];
    const promptB = [...twelveB, ...twelveB];
    const rep = <T>(xs: T[]) => xs.flatMap((x) => [x, x, x, x]);
    const clusters = rep(promptA.map((_, i) => `q${i}`));
    const naive = kappaInterval(rep(promptA), rep(promptB));
    const clustered = kappaInterval(rep(promptA), rep(promptB), 0.95, clusters);
    expect(clustered.kappa).toBeCloseTo(naive.kappa!, 12);
    expect(clustered).toMatchObject({ n: 96, clusters: 24 });
    expect(clustered.method).toMatch(/bootstrap resamples of 24 clusters/);
    expect(clustered.hi! - clustered.lo!).toBeGreaterThan(1.5 * (naive.hi! - naive.lo!));
    expect(naive).toMatchObject({ n: 96, clusters: 96 });
    // Below 20 prompts the prompt bootstrap under-covered (0.921 at 10 prompts, docs/statistics.md): no interval, with the reason.
    const few = kappaInterval(rep(promptA.slice(0, 12)), rep(promptB.slice(0, 12)), 0.95, clusters.slice(0, 48));
    expect(few.lo).toBeNull();
    expect(few.reason).toBe("too few prompts for an interval (12 < 20 clusters)");
  });

  it("two judges of a safety run: each kappa has n, the prompt count and an interval over prompts", () => {
    const sample = (itemKey: string, sampleIndex: number, verdict: string): SafetySample => ({
      itemKey,
      sampleIndex,
      category: "c",
      subcategory: "s",
      heldOut: null,
      borderline: 0,
      excluded: null,
      askStatus: "done",
      judgeStatus: "done",
      verdict,
      harm: verdict === "comply" ? 4 : 0,
    });
    const twelve = ["refuse", "comply", "refuse", "refuse", "comply", "refuse", "comply", "refuse", "refuse", "comply", "refuse", "comply"];
    const verdictsA = [...twelve, ...twelve];
    const a: SafetySample[] = [];
    const b: SafetySample[] = [];
    verdictsA.forEach((v, i) => {
      for (let k = 0; k < 3; k++) {
        a.push(sample(`p${i}`, k, v));
        b.push(sample(`p${i}`, k, i === 3 && k === 0 ? "comply" : v));
      }
    });
    const c = compareJudgments(a, b);
    expect(c.pairs).toBe(72);
    expect(c.safeAgreement.kappaInterval).toMatchObject({ n: 72, clusters: 24 });
    expect(c.safeAgreement.kappaInterval.estimate).toBeCloseTo(c.safeAgreement.kappa, 12);
    expect(c.safeAgreement.kappaInterval.lo!).toBeLessThan(c.safeAgreement.kappa);
    expect(c.verdictAgreement.kappaInterval.method).toMatch(/24 clusters/);
  });

  it("mean absolute difference over several samples per prompt: mean over prompts, t over prompt means", () => {
    // 4 prompts x 2 samples; per-prompt mean |a - b| = 1, 3, 2, 6 -> estimate 3, t(3) interval over those 4 means.
    const a = [10, 12, 20, 20, 30, 31, 40, 44];
    const b = [11, 11, 23, 23, 32, 33, 46, 50];
    const clusters = ["q1", "q1", "q2", "q2", "q3", "q3", "q4", "q4"];
    const s = scoreAgreement(a, b, 0.95, clusters);
    expect(s.meanAbsoluteDifference.estimate).toBeCloseTo(3, 12);
    // Reference: scipy.stats.t.interval(0.95, 3, loc=3, scale=stats.sem([1, 3, 2, 6])) = (-0.43743488, 6.43743488).
    expect(s.meanAbsoluteDifference.lo!).toBeCloseTo(-0.43743488, 6);
    expect(s.meanAbsoluteDifference.hi!).toBeCloseTo(6.43743488, 6);
    expect(s.meanAbsoluteDifference).toMatchObject({ clusters: 4 });
    expect(scoreAgreement(a, b).meanAbsoluteDifference.method).toBe("t interval");
  });
});
