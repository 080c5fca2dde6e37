import { describe, expect, it } from "vitest";
import { cleanCriticText, fewShotMessages, principleFor } from "../../src/kinds/cai/stages";
import { buildSamples, toJsonl } from "../../src/datasets/export";
import { MIN_FINETUNE_EXAMPLES, validateChatJsonl } from "../../src/datasets/finetune-format";
import { jaccard, LeakageIndex, NEAR_DUPLICATE_JACCARD, normaliseText, shingles } from "../../src/datasets/leakage";
import { builtinPool } from "../../src/datasets/pool";
import { checkDatasetLink, signDatasetLink } from "../../src/datasets/links";
import { createRng } from "../../src/stats/rng";
import { getConstitution } from "../../src/suites/constitutions";

describe("leakage: shingles and the inverted index", () => {
  it("normalises case, punctuation and Unicode forms, and cuts word 5-grams", () => {
    expect(normaliseText("  Hello,   WORLD! Ｆｕｌｌ-width\ttext ")).toBe("hello world full width text");
    expect([...shingles("a b c d e f g")]).toEqual(["a b c d e", "b c d e f", "c d e f g"]);
    expect([...shingles("too short")]).toEqual(["too short"]);
  });

  it("finds exactly the pairs an all-pairs comparison finds (no false negatives, no false positives)", () => {
    const rng = createRng(42);
    const vocab = "the a to of my how can i write make get help someone without them knowing into find out about their our your".split(" ");
    const sentence = (n: number) => Array.from({ length: n }, () => vocab[Math.floor(rng() * vocab.length)]).join(" ");
    const candidates = Array.from({ length: 60 }, (_, i) => ({ key: `c${i}`, category: "x", subcategory: "y", prompt: sentence(8 + Math.floor(rng() * 10)) }));
    // Evaluation texts: unrelated ones, light edits of candidates (some above, some below the threshold), exact copies.
    const evals: string[] = [];
    for (let i = 0; i < 300; i++) {
      const base = candidates[Math.floor(rng() * candidates.length)].prompt.split(" ");
      const kind = rng();
      if (kind < 0.2) evals.push(base.join(" ").toUpperCase() + "!");
      else if (kind < 0.6) {
        const edits = 1 + Math.floor(rng() * 4);
        for (let e = 0; e < edits; e++) base[Math.floor(rng() * base.length)] = vocab[Math.floor(rng() * vocab.length)];
        evals.push(base.join(" "));
      } else evals.push(sentence(6 + Math.floor(rng() * 12)));
    }
    const index = new LeakageIndex(candidates);
    evals.forEach((t, i) => index.probe(t, "sv", `e${i}`));
    const brute = new Set<string>();
    evals.forEach((t, i) => {
      const sh = shingles(normaliseText(t));
      for (const c of candidates) {
        const same = normaliseText(t) === normaliseText(c.prompt);
        if (same || jaccard(sh, shingles(normaliseText(c.prompt))) >= NEAR_DUPLICATE_JACCARD) brute.add(`${c.key}|e${i}`);
      }
    });
    expect(brute.size).toBeGreaterThan(40);
    expect(index.matchCount).toBe(brute.size);
    // The listed pairs (at most 200) are all true pairs; the count covers every pair.
    for (const m of index.matches) expect(brute.has(`${m.candidate}|${m.itemKey}`)).toBe(true);
    const flaggedByBrute = new Set([...brute].map((p) => p.split("|")[0]));
    expect(new Set([...index.flagged.keys()].map((i) => candidates[i].key))).toEqual(flaggedByBrute);
  });

  it("counts a pair at exactly the threshold as a near duplicate", () => {
    const a = "w1 w2 w3 w4 w5 w6 w7"; // 3 shingles
    const b = "w1 w2 w3 w4 w5 w6 x7"; // shares 2 of its 3: Jaccard 2 / (3 + 3 - 2) = 0.5
    expect(jaccard(shingles(a), shingles(b))).toBe(0.5);
    const index = new LeakageIndex([{ key: "k", category: "c", subcategory: "s", prompt: a }]);
    index.probe(b, "sv", "i");
    expect(index.matches).toEqual([{ candidate: "k", suiteVersionId: "sv", itemKey: "i", kind: "near", jaccard: 0.5 }]);
  });

  it("the built-in pool has 184 prompts, 23 per subcategory, in 4 categories", () => {
    const pool = builtinPool();
    expect(pool.items).toHaveLength(184);
    const per = new Map<string, number>();
    for (const it of pool.items) per.set(it.keying, (per.get(it.keying) ?? 0) + 1);
    expect([...per.values()]).toEqual(Array(8).fill(23));
    expect(new Set(pool.items.map((i) => i.dimension)).size).toBe(4);
  });
});

describe("fine-tuning format", () => {
  const line = (messages: unknown) => JSON.stringify({ messages });
  const ok = line([
    { role: "user", content: "q" },
    { role: "assistant", content: "a" },
  ]);

  it("accepts a valid file and refuses one with fewer than 10 examples", () => {
    expect(validateChatJsonl(Array(10).fill(ok).join("\n") + "\n")).toMatchObject({ valid: true, examples: 10, problemCount: 0 });
    const short = validateChatJsonl(
      Array(MIN_FINETUNE_EXAMPLES - 1)
        .fill(ok)
        .join("\n"),
    );
    expect(short.valid).toBe(false);
    expect(short.problems[0].message).toMatch(/at least 10/);
  });

  it("names each broken line", () => {
    const lines = [
      ...Array(10).fill(ok),
      "not json",
      line([
        { role: "robot", content: "x" },
        { role: "assistant", content: "a" },
      ]),
      line([
        { role: "user", content: "  " },
        { role: "assistant", content: "a" },
      ]),
      line([{ role: "user", content: "q" }]),
      line([
        { role: "assistant", content: "a" },
        { role: "user", content: "q" },
      ]),
      JSON.stringify({ prompt: "q", completion: "a" }),
    ];
    const r = validateChatJsonl(lines.join("\n"));
    expect(r.valid).toBe(false);
    const byLine = (n: number) =>
      r.problems
        .filter((p) => p.line === n)
        .map((p) => p.message)
        .join("; ");
    expect(byLine(11)).toMatch(/not valid JSON/);
    expect(byLine(12)).toMatch(/role "robot"/);
    expect(byLine(13)).toMatch(/empty or non-text content/);
    expect(byLine(14)).toMatch(/no assistant message/);
    expect(byLine(15)).toMatch(/last message is not the assistant's/);
    expect(byLine(16)).toMatch(/messages array/);
  });
});

describe("CAI recipe pieces", () => {
  it("draws principles uniformly and reproducibly per (seed, prompt, step)", () => {
    const c = getConstitution("deontology")!;
    expect(principleFor(c, 7, "item-1", 2).id).toBe(principleFor(c, 7, "item-1", 2).id);
    const counts = new Map<string, number>();
    const draws = 4000;
    for (let i = 0; i < draws / 4; i++)
      for (let k = 1; k <= 4; k++) {
        const id = principleFor(c, 7, `item-${i}`, k).id;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    expect(counts.size).toBe(c.principles.length);
    // Chi-square goodness of fit against uniform; 99.9% critical value for 15 df is 37.7.
    const expected = draws / c.principles.length;
    const chi2 = [...counts.values()].reduce((a, n) => a + (n - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(37.7);
  });

  it("builds the few-shot prefix from the constitution's worked examples and cleans echoed labels", () => {
    const shots = fewShotMessages(getConstitution("virtue_ethics")!);
    expect(shots.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(shots[0].content).toMatch(/^Human: [\s\S]+\n\nAssistant: [\s\S]+\n\nCritiqueRequest: /);
    expect(shots[2].content).toMatch(/^RevisionRequest: /);
    expect(cleanCriticText("Revision:  I won't.", "Revision")).toBe("I won't.");
    expect(cleanCriticText(null, "Critique")).toBe("");
  });

  it("keeps final revisions, or every revision, and counts each dropped sample once under its cause", () => {
    const items = ["a", "b", "c", "d"].map((k) => ({ key: k, payload: { prompt: `p-${k}`, category: "cat", subcategory: "sub" } }));
    const row = (itemKey: string, stage: number, status: string, answer: string | null, principleId = "x-01") => ({
      kind: stage === 0 ? "ask" : stage % 2 ? "critique" : "revision",
      itemKey,
      stage,
      status,
      answer,
      parsed: JSON.stringify({ principleId }),
    });
    const rows = [
      // a: complete chain of 2 steps
      row("a", 0, "done", "resp"),
      row("a", 1, "done", "crit1", "x-03"),
      row("a", 2, "done", "rev1"),
      row("a", 3, "done", "crit2", "x-07"),
      row("a", 4, "done", "rev2"),
      // b: empty revision at step 1 ends the chain
      row("b", 0, "done", "resp"),
      row("b", 1, "done", "crit1"),
      row("b", 2, "done", "  "),
      // c: the second critique failed
      row("c", 0, "done", "resp"),
      row("c", 1, "done", "crit1"),
      row("c", 2, "done", "rev1"),
      row("c", 3, "failed", null),
      // d: the helpful model failed
      row("d", 0, "failed", null),
    ];
    const final = buildSamples(items, rows, 2, false);
    expect(final.samples.map((s) => [s.itemKey, s.step, s.completion, s.principles])).toEqual([["a", 2, "rev2", ["x-03", "x-07"]]]);
    expect(final.dropped).toMatchObject({ emptyRevision: 1, critiqueFailed: 1, askFailed: 1 });
    const all = buildSamples(items, rows, 2, true);
    expect(all.samples.map((s) => `${s.itemKey}${s.step}`)).toEqual(["a1", "a2", "c1"]);
    expect(all.dropped).toMatchObject({ emptyRevision: 2, critiqueFailed: 1, askFailed: 2 });
    expect(toJsonl(final.samples)).toBe('{"messages":[{"role":"user","content":"p-a"},{"role":"assistant","content":"rev2"}]}\n');
  });

  it("signs dataset links that expire and cannot be moved to another dataset", async () => {
    const secret = "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LTMyYiE";
    const link = await signDatasetLink(secret, "https://w.example/", "ds_1", 60, 1_000_000);
    const u = new URL(link.url);
    expect(u.origin + u.pathname).toBe("https://w.example/v1/datasets/ds_1/file");
    const [expires, sig] = [u.searchParams.get("expires")!, u.searchParams.get("sig")!];
    expect(await checkDatasetLink(secret, "ds_1", expires, sig, 1_000_000)).toBeNull();
    expect(await checkDatasetLink(secret, "ds_1", expires, sig, 1_000_000 + 61_000)).toMatch(/expired/);
    expect(await checkDatasetLink(secret, "ds_2", expires, sig, 1_000_000)).toMatch(/signature/);
    expect(await checkDatasetLink(secret, "ds_1", String(Number(expires) + 1), sig, 1_000_000)).toMatch(/signature/);
    expect(await checkDatasetLink("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktIQ", "ds_1", expires, sig, 1_000_000)).toMatch(/signature/);
    expect(await checkDatasetLink(secret, "ds_1", undefined, sig)).toMatch(/missing/);
  });
});
