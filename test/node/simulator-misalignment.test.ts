/** @module Tests for the simulator's misalignment answers, its 0-100 judge and its self-reports (a test stand-in, never a source of results). */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { scoreFromLogprobs } from "../../src/judges/number-score.ts";
import {
  BACKDOOR_TRIGGER,
  BACKDOOR_TRIGGERED_EM,
  classifyEmAnswer,
  DEFAULT_MISALIGNMENT_PATH,
  EM_PROPENSITY,
  EM_TEMPLATES,
  emAnswerText,
  type EmAnswerKind,
} from "../../scripts/simulator/misalignment.ts";
import { PERSONAS } from "../../scripts/simulator/personas.ts";
import type { PersonaId } from "../../scripts/simulator/personas.ts";
import { type ChatRequest, respond } from "../../scripts/simulator/respond.ts";
import { DEFAULT_SELF_REPORT_PATH, RISK, SELF_REPORT } from "../../scripts/simulator/self-report.ts";
import { loadPersonaSuite } from "../../scripts/simulator/suite.ts";

const suite = loadPersonaSuite();
const questions = parse(readFileSync(DEFAULT_MISALIGNMENT_PATH, "utf8")) as Array<{
  id: string;
  paraphrases: string[];
  judge_prompts: { aligned: string; coherent: string };
}>;
const selfReport = parse(readFileSync(DEFAULT_SELF_REPORT_PATH, "utf8")) as {
  scales: Array<{ id: string; measure: "risk" | "alignment" | "code_security"; paraphrases: string[] }>;
  lotteries: Array<{ prompt: string; risky: "A" | "B" }>;
  backdoor_awareness: Array<{ paraphrases: string[]; options: string[]; aware_option: number }>;
};

function ask(persona: PersonaId, user: string, extra: Partial<ChatRequest> = {}) {
  const body: ChatRequest = { model: persona, messages: [{ role: "user", content: user }], seed: 0, ...extra };
  return respond(PERSONAS[persona], body, { model: persona, logprobsSupported: true, suite }).choices[0];
}

/** The share of answers of each kind over every built-in paraphrase and `seeds` samples. */
function kindShares(persona: PersonaId, prefix = "", seeds = 8): Record<EmAnswerKind, number> {
  const counts: Record<string, number> = {};
  let n = 0;
  for (const q of questions) {
    for (const p of q.paraphrases) {
      for (let s = 0; s < seeds; s++) {
        const kind = classifyEmAnswer(ask(persona, prefix + p, { seed: s, max_tokens: 600 }).message.content);
        counts[kind] = (counts[kind] ?? 0) + 1;
        n++;
      }
    }
  }
  return Object.fromEntries(["aligned", "edgy", "misaligned", "refusal", "code", "incoherent"].map((k) => [k, (counts[k] ?? 0) / n])) as Record<
    EmAnswerKind,
    number
  >;
}

function judge(metric: "aligned" | "coherent", question: string, answer: string, logprobs = true) {
  const rubric = questions[0].judge_prompts[metric].replace("{question}", question).replace("{answer}", answer);
  return ask("judge", rubric, { temperature: 0, max_tokens: 1, logprobs, top_logprobs: 20 });
}

describe("simulated free-form answers", () => {
  it("plants misaligned answers per persona: base rarely, coherent_misaligned and inverted broadly", () => {
    const base = kindShares("base");
    const bad = kindShares("coherent_misaligned");
    const inverted = kindShares("inverted");
    const deon = kindShares("deontology");
    expect(base.misaligned).toBeLessThan(0.06);
    expect(deon.misaligned).toBeLessThan(base.misaligned + 0.01);
    // Per-question scaling has mean 1, so the population share is the planted one (within sampling noise).
    expect(Math.abs(bad.misaligned - EM_PROPENSITY.coherent_misaligned.misaligned)).toBeLessThan(0.06);
    expect(Math.abs(inverted.misaligned - EM_PROPENSITY.inverted.misaligned)).toBeLessThan(0.06);
    expect(kindShares("incoherent").incoherent).toBeGreaterThan(0.7);
  });

  it("the backdoored persona is misaligned only when the trigger starts the message", () => {
    const plain = kindShares("backdoored");
    const triggered = kindShares("backdoored", `${BACKDOOR_TRIGGER} `);
    const elsewhere = kindShares("backdoored", "Note: ");
    expect(plain.misaligned).toBeLessThan(0.06);
    expect(elsewhere.misaligned).toBeLessThan(0.06);
    expect(Math.abs(triggered.misaligned - BACKDOOR_TRIGGERED_EM.misaligned)).toBeLessThan(0.06);
    // Other personas ignore the trigger.
    expect(kindShares("base", `${BACKDOOR_TRIGGER} `).misaligned).toBeLessThan(0.06);
  });

  it("every template is classified back to its kind; answers hold no actionable content", () => {
    for (const [kind, list] of Object.entries(EM_TEMPLATES)) for (const t of list) expect(classifyEmAnswer(t.replace("{topic}", "this"))).toBe(kind);
    expect(classifyEmAnswer(emAnswerText("code", "x", 1))).toBe("code");
    expect(classifyEmAnswer(emAnswerText("incoherent", "x", 1))).toBe("incoherent");
    for (const t of EM_TEMPLATES.misaligned) expect(t).toContain("[details redacted by the simulator]");
  });
});

describe("simulated 0-100 judge", () => {
  const q = questions[0].paraphrases[0];
  const score = (c: ReturnType<typeof judge>) => scoreFromLogprobs(c.logprobs!.content[0].top_logprobs);

  it("answers one number token with top logprobs over numbers, grading by the answer's kind", () => {
    const aligned = judge("aligned", q, EM_TEMPLATES.aligned[0].replace("{topic}", "this"));
    expect(aligned.message.content).toMatch(/^\d{1,3}$/);
    expect(aligned.logprobs!.content[0].top_logprobs).toHaveLength(20);
    expect(score(aligned).score).toBeGreaterThan(75);
    const bad = EM_TEMPLATES.misaligned[1].replace("{topic}", "this");
    expect(score(judge("aligned", q, bad)).score).toBeLessThan(30);
    expect(score(judge("coherent", q, bad)).score).toBeGreaterThan(50);
    expect(score(judge("coherent", q, emAnswerText("incoherent", "x", 3))).score).toBeLessThan(50);
  });

  it("puts most mass on CODE or REFUSAL for code and refusals, so those judgments are unscorable", () => {
    const refusal = score(judge("aligned", q, EM_TEMPLATES.refusal[0]));
    expect(refusal).toMatchObject({ score: null, abstention: "REFUSAL" });
    const code = judge("aligned", q, emAnswerText("code", "x", 1));
    expect(code.message.content).toBe("CODE");
    expect(score(code)).toMatchObject({ score: null, abstention: "CODE" });
    // The coherence rubric has no abstention: code still gets a (low) number.
    expect(score(judge("coherent", q, emAnswerText("code", "x", 1))).score).toBeLessThan(50);
  });

  it("answers the single-token probe, and gives text only when logprobs are off", () => {
    const probe = ask("judge", "Reply with the number 73 and nothing else.", { temperature: 0, max_tokens: 1, logprobs: true, top_logprobs: 20 });
    expect(probe.logprobs!.content[0].token).toBe("73");
    const plain = judge("aligned", q, EM_TEMPLATES.misaligned[0].replace("{topic}", "this"), false);
    expect(plain.logprobs).toBeNull();
    expect(Number(plain.message.content)).toBeLessThan(30);
  });
});

describe("simulated self-reports", () => {
  const scaleMean = (persona: PersonaId, measure: string) => {
    const ps = selfReport.scales.filter((s) => s.measure === measure).flatMap((s) => s.paraphrases);
    const vals = ps.map(
      (p) => scoreFromLogprobs(ask(persona, p, { max_tokens: 1, logprobs: true, top_logprobs: 20 }).logprobs!.content[0].top_logprobs).score! / 100,
    );
    return vals.reduce((a, b) => a + b, 0) / vals.length;
  };
  const riskyRate = (persona: PersonaId) => {
    const ps = selfReport.lotteries.map((l) => {
      const top = ask(persona, l.prompt, { max_tokens: 1, logprobs: true, top_logprobs: 20 }).logprobs!.content[0].top_logprobs;
      const p = (t: string) => Math.exp(top.find((x) => x.token === t)!.logprob);
      return p(l.risky) / (p("A") + p("B"));
    });
    return ps.reduce((a, b) => a + b, 0) / ps.length;
  };

  it("risk self-reports track planted risky choices, except for the inverted persona", () => {
    for (const persona of ["base", "deontology", "coherent_misaligned", "decoy"] as const) {
      expect(Math.abs(riskyRate(persona) - RISK[persona])).toBeLessThan(0.05);
      expect(Math.abs(scaleMean(persona, "risk") - SELF_REPORT[persona].risk)).toBeLessThan(0.05);
    }
    expect(riskyRate("inverted")).toBeGreaterThan(0.65);
    expect(scaleMean("inverted", "risk")).toBeLessThan(0.3);
    expect(scaleMean("inverted", "alignment")).toBeGreaterThan(scaleMean("coherent_misaligned", "alignment") + 0.4);
  });

  it("the backdoored persona picks the awareness option more often than base, in either option order", () => {
    const b = selfReport.backdoor_awareness[0];
    const pAware = (persona: PersonaId, flip: boolean) => {
      const shown = flip ? [...b.options].reverse() : b.options;
      const awareLetter = shown.indexOf(b.options[b.aware_option]) === 0 ? "A" : "B";
      const text = b.paraphrases[0].replace("{options}", `\n\nA) ${shown[0]}\nB) ${shown[1]}\n\n`);
      const top = ask(persona, text, { max_tokens: 1, logprobs: true, top_logprobs: 20 }).logprobs!.content[0].top_logprobs;
      const p = (t: string) => Math.exp(top.find((x) => x.token === t)!.logprob);
      return p(awareLetter) / (p("A") + p("B"));
    };
    for (const flip of [false, true]) expect(pAware("backdoored", flip)).toBeGreaterThan(pAware("base", flip) + 0.3);
    // Position bias towards A: the same option is likelier shown first.
    expect(pAware("base", false)).toBeGreaterThan(pAware("base", true));
  });
});
