/** The server-drawn charts: the numbers they carry, where they draw them, and what they say to assistive tech. */
import { describe, expect, it } from "vitest";
import { badge, BADGE_COLOURS, textWidth } from "../../src/reports/svg/badge";
import { contrast, rampColor, RAMP_STOPS, textOn } from "../../src/reports/svg/color";
import { forestPlot, FOREST_LAYOUT } from "../../src/reports/svg/forest";
import { heatmap, shortCi, wrapLabel } from "../../src/reports/svg/heatmap";
import { profileChart, PROFILE_LAYOUT } from "../../src/reports/svg/profile";
import { linear, niceDomain, ticks } from "../../src/reports/svg/scale";
import { dataNum, f2, pointer, signed2, withCi } from "../../src/reports/svg/text";

/** Attributes of every element whose opening tag matches `tag` and carries `marker`. */
function elements(svg: string, tag: string, marker: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, "g"))) {
    if (!m[1].includes(marker)) continue;
    const attrs: Record<string, string> = {};
    for (const a of m[1].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push(attrs);
  }
  return out;
}

/** The first <circle>/<rect> after a mark's opening tag. */
function shapeAfter(svg: string, key: string, series: string, shape: "circle" | "rect"): Record<string, string> {
  const at = svg.indexOf(`data-series="${series}" data-key="${key}"`);
  const m = new RegExp(`<${shape}\\b([^>]*)>`).exec(svg.slice(at));
  const attrs: Record<string, string> = {};
  for (const a of m![1].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
  return attrs;
}

describe("text helpers", () => {
  it("write numbers for data attributes as JSON does, and show them rounded", () => {
    expect(dataNum(0.1 + 0.2)).toBe(JSON.stringify(0.1 + 0.2));
    expect(dataNum(NaN)).toBe("null");
    expect(dataNum(null)).toBe("null");
    expect(f2(-0.004)).toBe("0.00");
    expect(f2(-0.25)).toBe("−0.25");
    expect(signed2(0.125)).toBe("+0.13");
    expect(withCi(0.5, 0.4, 0.6)).toBe("0.50 [0.40, 0.60]");
    expect(withCi(NaN, 0, 1)).toBe("—");
    expect(pointer("a/b", "c~d", 3)).toBe("/a~1b/c~0d/3");
  });

  it("choose nice domains and ticks", () => {
    expect(niceDomain([-0.12, 0.31], [0])).toEqual([-0.2, 0.4]);
    expect(ticks(0, 1, 4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linear(0, 1, 10, 110)(0.25)).toBe(35);
  });
});

describe("persona profile chart", () => {
  const rows = [
    {
      key: "deontology",
      label: "deontology <&>",
      model: { estimate: 0.7123, lo: 0.6, hi: 0.8, n: 60 },
      base: { estimate: 0.5, lo: 0.41, hi: 0.59, n: 60 },
      expected: 1,
    },
    { key: "utilitarianism", label: "utilitarianism", model: { estimate: 0.3, lo: 0.2, hi: 0.4, n: 58 }, base: null, expected: -0.5 },
    {
      key: "virtue_ethics",
      label: "virtue ethics",
      model: { estimate: NaN, lo: NaN, hi: NaN, n: 0 },
      base: { estimate: 0.45, lo: 0.4, hi: 0.5, n: 60 },
      expected: 0,
    },
  ];
  const svg = profileChart({
    id: "p1",
    title: "Profile of M",
    description: "desc text",
    modelLabel: "M",
    baseLabel: "B",
    constitutionLabel: "deontology",
    rows,
  });

  it("carries every plotted value as data, drawn where the axis puts it", () => {
    const marks = elements(svg, "g", 'class="pt"');
    expect(marks).toHaveLength(6);
    const m = marks.find((a) => a["data-series"] === "model" && a["data-key"] === "deontology")!;
    expect([m["data-estimate"], m["data-lo"], m["data-hi"], m["data-n"]]).toEqual(["0.7123", "0.6", "0.8", "60"]);
    const root = elements(svg, "svg", "data-chart")[0];
    expect(root["data-chart"]).toBe("profile");
    const x = linear(Number(root["data-x-min"]), Number(root["data-x-max"]), Number(root["data-px-min"]), Number(root["data-px-max"]));
    expect(Number(shapeAfter(svg, "deontology", "model", "circle").cx)).toBeCloseTo(x(0.7123), 2);
    expect(Number(shapeAfter(svg, "deontology", "base", "circle").cx)).toBeCloseTo(x(0.5), 2);
    const ci = elements(svg, "line", 'class="ci"')[0];
    expect(Number(ci.x1)).toBeCloseTo(x(0.6), 2);
    expect(Number(ci.x2)).toBeCloseTo(x(0.8), 2);
    // A missing base and an unscored dimension say so instead of drawing a point at 0.
    const none = marks.find((a) => a["data-series"] === "model" && a["data-key"] === "virtue_ethics")!;
    expect(none["data-estimate"]).toBe("null");
    expect(svg).toContain("no scored answers");
    expect(marks.find((a) => a["data-series"] === "base" && a["data-key"] === "utilitarianism")!["data-estimate"]).toBe("null");
  });

  it("shows the expected signature and is named and described for screen readers", () => {
    const expected = elements(svg, "text", 'data-series="expected"');
    expect(expected.map((e) => [e["data-key"], e["data-estimate"]])).toEqual([
      ["deontology", "1"],
      ["utilitarianism", "-0.5"],
      ["virtue_ethics", "0"],
    ]);
    expect(svg).toContain("▲ expected +1");
    expect(svg).toContain("▼ expected −0.5");
    expect(svg).toMatch(/role="img" aria-labelledby="p1-title" aria-describedby="p1-desc"/);
    expect(svg).toContain('<title id="p1-title">Profile of M</title><desc id="p1-desc">desc text</desc>');
    expect(svg).toContain("deontology &lt;&amp;&gt;");
    expect(svg).not.toContain("<&>");
    expect(PROFILE_LAYOUT.width).toBeLessThanOrEqual(360);
  });

  it("leaves out the base and the signature when there are none", () => {
    const plain = profileChart({
      id: "p2",
      title: "t",
      description: "d",
      modelLabel: "M",
      rows: [{ key: "a", label: "a", model: { estimate: 0.5, lo: 0.4, hi: 0.6, n: 3 } }],
    });
    expect(elements(plain, "g", 'class="pt"')).toHaveLength(1);
    expect(plain).not.toContain("expected");
    expect(plain).not.toContain("base:");
  });
});

describe("safety heat map", () => {
  const cells: Record<string, { estimate: number; lo: number; hi: number; n: number } | null> = {
    "hate|m1": { estimate: 0.9, lo: 0.8, hi: 0.95, n: 40 },
    "hate|m2": { estimate: 0.1, lo: 0.05, hi: 0.2, n: 40 },
    "cyber|m1": { estimate: 0.5, lo: 0.4, hi: 0.6, n: 38 },
    "cyber|m2": null,
  };
  const svg = heatmap({
    id: "h",
    title: "Matrix",
    description: "d",
    rows: [
      { key: "hate", label: "hate" },
      { key: "cyber", label: "cyber" },
    ],
    cols: [
      { key: "m1", label: "model one" },
      { key: "m2", label: "a model with a rather long name indeed" },
    ],
    cell: (r, c) => cells[`${r}|${c}`] ?? null,
    valueLabel: "safe-response rate",
  });

  it("draws one cell per model and category, coloured by the rate it carries", () => {
    const marks = elements(svg, "g", 'class="cell"');
    expect(marks).toHaveLength(4);
    for (const m of marks) {
      const v = cells[`${m["data-row"]}|${m["data-col"]}`];
      expect(m["data-estimate"]).toBe(v ? String(v.estimate) : "null");
      expect(m["data-n"]).toBe(v ? String(v.n) : "null");
      if (v) expect(m["data-fill"]).toBe(rampColor(v.estimate));
    }
    expect(svg).toContain(">0.90<");
    expect(svg).toContain(`>${shortCi(0.8, 0.95)}<`);
    expect(shortCi(0.05, 1)).toBe(".05–1.00");
    // Long model names wrap onto two lines, then are clipped; the full name stays in a tooltip.
    expect(svg).toContain("<title>a model with a rather long name indeed</title>");
    expect(wrapLabel("sim-virtue-ethics", 11)).toEqual(["sim-virtue-", "ethics"]);
    expect(wrapLabel("sim-base (base)", 11)).toEqual(["sim-base", "(base)"]);
    expect(wrapLabel("a model with a rather long name", 11)).toEqual(["a model", "with a rat…"]);
    expect(wrapLabel("short", 11)).toEqual(["short"]);
    // Up to four models fit a phone-width column.
    const four = heatmap({
      id: "h4",
      title: "t",
      description: "d",
      rows: [{ key: "r", label: "r" }],
      cols: ["a", "b", "c", "d"].map((k) => ({ key: k, label: k })),
      cell: () => null,
      valueLabel: "v",
    });
    expect(Number(/ width="(\d+)"/.exec(four)![1])).toBeLessThanOrEqual(360);
  });

  it("keeps every cell's text readable (WCAG AA contrast) across the whole colour ramp", () => {
    for (let t = 0; t <= 1.0001; t += 0.02) {
      const bg = rampColor(t);
      expect(contrast(bg, textOn(bg)), bg).toBeGreaterThanOrEqual(4.5);
    }
    expect(rampColor(0)).toBe(RAMP_STOPS[0]);
    expect(rampColor(1)).toBe(RAMP_STOPS[RAMP_STOPS.length - 1]);
  });
});

describe("interval (forest) plot", () => {
  const rows = [
    { key: "a", label: "A", group: "model 1", series: "all", estimate: 0.3, lo: 0.1, hi: 0.5, n: 100, note: "p = 0.01" },
    { key: "a", label: "B", group: "model 1", series: "heldOut", estimate: -0.05, lo: -0.2, hi: 0.1, n: 50 },
    { key: "b", label: "C", group: "model 2", series: "all", estimate: null, lo: null, hi: null },
  ];
  const svg = forestPlot({ id: "f", title: "Effects", description: "d", rows, axisLabel: "difference", signed: true });

  it("puts zero and every interval inside its axis and draws the points there", () => {
    const root = elements(svg, "svg", "data-chart")[0];
    const [d0, d1] = [Number(root["data-x-min"]), Number(root["data-x-max"])];
    expect(d0).toBeLessThanOrEqual(-0.2);
    expect(d1).toBeGreaterThanOrEqual(0.5);
    const x = linear(d0, d1, FOREST_LAYOUT.plotX0, FOREST_LAYOUT.plotX1);
    const rect = shapeAfter(svg, "a", "all", "rect");
    expect(Number(rect.x) + 4.5).toBeCloseTo(x(0.3), 2);
    const ref = elements(svg, "line", 'class="reference"')[0];
    expect(Number(ref.x1)).toBeCloseTo(x(0), 2);
    expect(svg).toContain("+0.30 [+0.10, +0.50]");
    expect(svg).toContain("no estimate");
    expect(elements(svg, "text", 'class="group"')).toHaveLength(2);
  });

  it("clamps intervals to a fixed domain", () => {
    const fixed = forestPlot({
      id: "g",
      title: "t",
      description: "d",
      rows: [{ key: "k", label: "k", estimate: 0.98, lo: 0.9, hi: 1.2 }],
      domain: [0, 1],
      reference: null,
      axisLabel: "rate",
    });
    const ci = elements(fixed, "line", 'class="ci"')[0];
    expect(Number(ci.x2)).toBe(FOREST_LAYOUT.plotX1);
    expect(fixed).not.toContain('class="reference"');
  });
});

describe("badge", () => {
  it("keeps white text readable on every colour and names itself", () => {
    for (const [name, hex] of Object.entries(BADGE_COLOURS)) expect(contrast(hex, "#ffffff"), name).toBeGreaterThanOrEqual(4.5);
    expect(contrast("#404040", "#ffffff")).toBeGreaterThanOrEqual(4.5);
    const svg = badge({ label: "safe rate", message: "0.84 [0.79–0.88]", color: "green" });
    expect(svg).toContain('aria-label="safe rate: 0.84 [0.79–0.88]"');
    expect(svg).toContain("<title>safe rate: 0.84 [0.79–0.88]</title>");
    expect(svg).toContain(BADGE_COLOURS.green);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    expect(width).toBe(textWidth("safe rate") + textWidth("0.84 [0.79–0.88]") + 24);
    expect(badge({ label: "a", message: "b", color: "javascript:alert(1)" })).toContain(BADGE_COLOURS.lightgrey);
  });
});
