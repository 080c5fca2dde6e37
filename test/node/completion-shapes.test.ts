/** Scorers on the answer shapes OpenAI-compatible providers send (recorded shapes, and the simulator's odd shapes). */
import { describe, expect, it } from "vitest";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { contentText, normalizeCompletion } from "../../src/providers/completion-shape";
import { scorePersonaAnswer } from "../../src/kinds/persona/scorer";
import { scoreNumberAnswer } from "../../src/judges/number-score";
import { scoreSelfReport } from "../../src/kinds/self-report/scorer";
import { applyOddShape, ODD_SHAPES } from "../../scripts/simulator/faults.ts";
import { parseDecision, parseHarmJudgment, parseLetter } from "../../src/kinds/consistency/format";
import { parseSafetyJudgment } from "../../src/judges/safety-rubric";

const base = { id: "chatcmpl-1", object: "chat.completion", created: 0, model: "m" };

/** Shapes as providers send them (field layout copied from real responses; texts shortened). */
const RECORDED = {
  refusal: {
    ...base,
    choices: [
      { index: 0, finish_reason: "stop", logprobs: null, message: { role: "assistant", content: null, refusal: "I'm sorry, but I can't assist with that." } },
    ],
  },
  parts: {
    ...base,
    choices: [
      {
        index: 0,
        finish_reason: "stop",
        logprobs: null,
        message: {
          role: "assistant",
          content: [
            { type: "text", text: "Yes" },
            { type: "text", text: ", I would." },
          ],
        },
      },
    ],
  },
  nullToken: {
    ...base,
    choices: [
      {
        index: 0,
        finish_reason: "length",
        message: { role: "assistant", content: " Yes" },
        logprobs: {
          content: [
            {
              token: null,
              logprob: -0.2,
              bytes: null,
              top_logprobs: [
                { token: null, logprob: -0.1, bytes: null },
                { token: " Yes", logprob: -0.2, bytes: [32, 89, 101, 115] },
                { token: " No", logprob: -1.8, bytes: null },
              ],
            },
            {
              token: " Yes",
              logprob: -0.2,
              bytes: null,
              top_logprobs: [
                { token: " Yes", logprob: -0.2, bytes: null },
                { token: " No", logprob: -1.8, bytes: null },
              ],
            },
          ],
        },
      },
    ],
  },
  noTop: {
    ...base,
    choices: [
      {
        index: 0,
        finish_reason: "length",
        message: { role: "assistant", content: "42" },
        logprobs: { content: [{ token: "42", logprob: -0.01, bytes: null }] },
      },
    ],
  },
  noMessage: { ...base, choices: [{ index: 0, finish_reason: "stop" }] },
} as unknown as Record<string, ChatCompletion>;

const top0 = (c: ChatCompletion) => c.choices[0]?.logprobs?.content?.[0]?.top_logprobs ?? null;
const text0 = (c: ChatCompletion) => c.choices[0]?.message?.content ?? null;

describe("scorers accept every answer shape", () => {
  it("reads the text of string, array-of-parts and null content", () => {
    expect(contentText("Yes")).toBe("Yes");
    expect(
      contentText([
        { type: "text", text: "Ye" },
        { type: "text", text: "s" },
      ]),
    ).toBe("Yes");
    expect(contentText([{ type: "image_url", image_url: { url: "x" } }])).toBeNull();
    expect(contentText(null)).toBeNull();
    expect(contentText(42)).toBeNull();
  });

  it("scores the raw recorded shapes without throwing", () => {
    for (const [name, c] of Object.entries(RECORDED)) {
      const content = c.choices[0]?.message?.content ?? null;
      const top = top0(c);
      expect(() => scorePersonaAnswer("yes", content, top), name).not.toThrow();
      expect(() => scoreNumberAnswer(content, top, true), name).not.toThrow();
      expect(() => scoreSelfReport({ type: "scale" } as never, content as never, top), name).not.toThrow();
    }
    // The text parsers of the judged kinds read a non-string as no answer.
    for (const odd of [null, [{ type: "text", text: "A" }], 7] as never[]) {
      expect(parseHarmJudgment(odd)).toBeNull();
      expect(parseLetter(odd)).toBeNull();
      expect(parseDecision(odd, "aligned", "misaligned")).toBeNull();
      expect(parseSafetyJudgment(odd)).toBeNull();
    }
    // A null token is skipped; the rest of the distribution still scores.
    const s = scorePersonaAnswer("yes", text0(RECORDED.nullToken), top0(RECORDED.nullToken));
    expect(s.method).toBe("logprobs");
    expect(s.pMatch).toBeGreaterThan(0.8);
    // An array of parts parses as its joined text.
    expect(scorePersonaAnswer("yes", ["Yes", ", I would."], null).method).toBeNull();
  });

  it("normalises each recorded shape to string-or-null content and clean logprobs", () => {
    const refusal = normalizeCompletion(RECORDED.refusal);
    expect(text0(refusal)).toBeNull();
    expect(refusal.choices[0].message.refusal).toMatch(/can't assist/);
    expect(scorePersonaAnswer("yes", text0(refusal), top0(refusal))).toMatchObject({ method: null, pMatch: null });

    const parts = normalizeCompletion(RECORDED.parts);
    expect(text0(parts)).toBe("Yes, I would.");
    expect(scorePersonaAnswer("yes", text0(parts), top0(parts))).toMatchObject({ method: "sampled", pMatch: 1 });

    const nullToken = normalizeCompletion(RECORDED.nullToken);
    expect(nullToken.choices[0].logprobs!.content!.map((e) => e.token)).toEqual([" Yes"]);
    expect(top0(nullToken)!.every((t) => typeof t.token === "string")).toBe(true);

    const noTop = normalizeCompletion(RECORDED.noTop);
    expect(top0(noTop)).toEqual([]);
    expect(scoreNumberAnswer(text0(noTop), top0(noTop), true)).toMatchObject({ method: "sampled", score: 42 });

    const noMessage = normalizeCompletion(RECORDED.noMessage);
    expect(text0(noMessage)).toBeNull();
  });

  it("the simulator's odd shapes normalise to what the plain answer says", () => {
    const plain = () =>
      ({
        ...base,
        choices: [
          {
            index: 0,
            finish_reason: "length",
            message: { role: "assistant", content: " No" },
            logprobs: {
              content: [
                {
                  token: " No",
                  logprob: -0.1,
                  bytes: null,
                  top_logprobs: [
                    { token: " No", logprob: -0.1, bytes: null },
                    { token: " Yes", logprob: -2.4, bytes: null },
                  ],
                },
              ],
            },
          },
        ],
      }) as unknown as ChatCompletion;
    const want = scorePersonaAnswer("no", " No", top0(plain()));
    for (const shape of ODD_SHAPES) {
      const c = normalizeCompletion(applyOddShape(plain() as never, shape) as unknown as ChatCompletion);
      const got = scorePersonaAnswer("no", text0(c), top0(c));
      if (shape === "refusal") expect(got.pMatch, shape).toBeNull();
      else if (shape === "no_top_logprobs") expect(got, shape).toMatchObject({ method: "sampled", pMatch: 1 });
      else expect(got.pMatch, shape).toBeCloseTo(want.pMatch!, 6);
    }
  });
});
