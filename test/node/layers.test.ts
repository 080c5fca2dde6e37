/**
 * Layers (docs/architecture.md#layers): no module under src/ imports from a higher layer. The checker is tried first
 * on a fixture with planted upward imports (static, type-only, re-export, dynamic), then run on src/.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { checkLayers, LAYERS, layerOf } from "../../scripts/lib/layers.ts";

const FIXTURE_LAYERS = [
  { name: "low", why: "fixture", paths: ["low/"] },
  { name: "mid", why: "fixture", paths: ["mid/"] },
  { name: "high", why: "fixture", paths: ["high/"] },
];

describe("layer check", () => {
  it("finds every planted upward import in the fixture, in each import form, and nothing else", () => {
    const r = checkLayers(join(__dirname, "../fixtures/layers/src"), FIXTURE_LAYERS);
    expect(r.unassigned).toEqual([]);
    expect(r.violations.map((v) => `${v.from} -> ${v.to}`).sort()).toEqual([
      "low/values.ts -> high/shout.ts", // static import
      "low/values.ts -> high/shout.ts", // re-export
      "low/values.ts -> high/shout.ts", // dynamic import()
      "low/values.ts -> high/types.ts", // type-only import
    ]);
    expect(r.violations.every((v) => v.fromLayer === "low" && v.toLayer === "high")).toBe(true);
  });

  it("names files no layer claims", () => {
    const r = checkLayers(
      join(__dirname, "../fixtures/layers/src"),
      FIXTURE_LAYERS.filter((l) => l.name !== "mid"),
    );
    expect(r.unassigned).toEqual(["mid/clean.ts"]);
  });

  it("gives a file pattern precedence over its folder, and a kind's files the layer of their role", () => {
    const at = (p: string) => LAYERS[layerOf(p)!].name;
    expect(at("queue/planner.ts")).toBe("queue");
    expect(at("queue/consumer.ts")).toBe("entry");
    expect(at("kinds/persona/stages.ts")).toBe("kinds");
    expect(at("kinds/persona/metrics.ts")).toBe("metrics");
    expect(at("kinds/persona/report.ts")).toBe("reports");
    expect(layerOf("kinds/persona/unknown.ts")).toBeNull();
  });

  it("src/ has no upward import and no file without a layer", () => {
    const r = checkLayers(join(__dirname, "../../src"));
    expect(r.files).toBeGreaterThan(100);
    expect(r.unassigned).toEqual([]);
    expect(r.violations.map((v) => `${v.from} (${v.fromLayer}) imports ${v.to} (${v.toLayer})`)).toEqual([]);
  });
});
