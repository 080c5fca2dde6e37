/** The judgments export: spreadsheet-formula neutralisation, CSV quoting, and what anonymous callers see. */
import { describe, expect, it } from "vitest";
import {
  CSV_ADMIN_COLUMNS,
  CSV_COLUMNS,
  csvCell,
  csvHeader,
  csvRecord,
  exportRecord,
  type ExportRow,
  neutraliseFormula,
  promptOf,
  publicParsed,
} from "../../src/reports/export";

const row: ExportRow = {
  unitId: "u_1",
  kind: "judge",
  stage: 1,
  parentId: "u_0",
  suiteVersionId: "safety@abc",
  itemKey: '=HYPERLINK("http://x")',
  sampleIndex: 0,
  variant: "",
  judge: "ep_j@r1|safety-v1",
  status: "done",
  attempts: 0,
  parseRetries: 0,
  lastError: null,
  dimension: "hate",
  keying: "slurs",
  score: 2,
  parsed: JSON.stringify({ status: "ok", verdict: "partial", harm: 2, rubricVersion: "safety-v1", note: "free text the judge wrote" }),
  latencyMs: 12,
  promptTokens: 100,
  completionTokens: 9,
  model: "judge",
  answeredAt: "2026-01-01T00:00:00.000Z",
  request: JSON.stringify({
    messages: [
      { role: "system", content: "s" },
      { role: "user", content: "+SUM(A1:A9)" },
    ],
  }),
  answer: '@cmd, "quoted"\nline two',
};

describe("formula neutralisation", () => {
  it("prefixes a quote to text a spreadsheet would evaluate", () => {
    for (const s of ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1", "＝1", "\u0000=1"])
      expect(neutraliseFormula(s), JSON.stringify(s)).toBe(`'${s}`);
    for (const s of ["plain", "a=b", "1-2", "", "'already"]) expect(neutraliseFormula(s)).toBe(s);
  });

  it("quotes text cells (RFC 4180), keeps numbers as numbers, leaves nulls empty", () => {
    expect(csvCell("=1+1")).toBe(`"'=1+1"`);
    expect(csvCell('say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
    expect(csvCell(-0.5)).toBe("-0.5");
    expect(csvCell(NaN)).toBe("");
    expect(csvCell(null)).toBe("");
    expect(csvCell(true)).toBe("true");
  });
});

describe("export records", () => {
  it("anonymous records keep scores and short labels, never the prompt, the answer or free text", () => {
    const rec = exportRecord("run_1", row, false);
    expect(rec.prompt).toBeUndefined();
    expect(rec.answer).toBeUndefined();
    expect(rec.parsed).toEqual({ status: "ok", verdict: "partial", harm: 2, rubricVersion: "safety-v1" });
    expect(JSON.stringify(rec)).not.toContain("free text");
    expect(publicParsed({ sampled: "yes", method: "logprobs", pMatch: 0.7, text: "hello" })).toEqual({ sampled: "yes", method: "logprobs", pMatch: 0.7 });
  });

  it("admin records add the prompt, the answer and the error; CSV lines match the header and neutralise every text cell", () => {
    const rec = exportRecord("run_1", row, true);
    expect(rec.prompt).toBe("+SUM(A1:A9)");
    expect(rec.answer).toBe(row.answer);
    expect(promptOf("not json")).toBeNull();
    const header = csvHeader(true).trimEnd().split(",");
    expect(header).toEqual([...CSV_COLUMNS, ...CSV_ADMIN_COLUMNS]);
    const line = csvRecord(rec, true);
    expect(line.endsWith("\r\n")).toBe(true);
    expect(line).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(line).toContain(`"'+SUM(A1:A9)"`);
    expect(line).toContain(`"'@cmd, ""quoted""\nline two"`);
    // Every text cell starts with a quote character, so no cell can start with = + - @.
    const cells = line.match(/"(?:[^"]|"")*"|[^,\r\n]+|(?<=,)(?=,)/g)!;
    for (const c of cells) expect(/^[=+\-@]/.test(c), c).toBe(false);
    expect(csvRecord(exportRecord("run_1", row, false), false).split(",").length).toBeGreaterThanOrEqual(CSV_COLUMNS.length);
  });
});
