/**
 * The report pages in a real browser: Debian's chromium driven by playwright-core (never a downloaded browser),
 * against `wrangler dev` (the `stack` project's global setup). For every page: the numbers the charts carry and
 * where they are drawn equal the JSON report; no request leaves localhost; no horizontal overflow at 375 px;
 * axe-core finds no serious or critical violation; a screenshot goes to screenshots/ (git-ignored).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { rampColor } from "../../src/reports/svg/color";
import { checkMark, type Mark } from "../support/marks";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === "true";
const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "screenshots");
/** The phone width the pages must fit (iPhone SE/mini class). */
const PHONE_WIDTH = 375;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

if (!HAVE_CHROMIUM) {
  console.warn(
    `browser tests: SKIPPED, no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)${IN_CI ? "; CI=true, so this fails the run" : ""}`,
  );
}

if (!HAVE_CHROMIUM && IN_CI) {
  describe("browser tests under CI", () => {
    it("need Debian's chromium", () => {
      throw new Error(`no chromium at ${CHROMIUM}: .ci/run installs it with apt-get`);
    });
  });
}

interface PageCheck {
  marks: number;
  charts: string[];
  requests: number;
  ms: number;
}

describe.skipIf(!HAVE_CHROMIUM)(`report pages in chromium (${CHROMIUM})`, () => {
  const stack = inject("stack");
  let browser: Browser;
  const json = new Map<string, unknown>();
  const checked: Record<string, PageCheck> = {};

  beforeAll(async () => {
    if (stack.error) throw new Error(stack.error);
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--headless", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    console.log(`browser pages checked: ${JSON.stringify(checked)}`);
  });

  async function source(path: string, admin: boolean): Promise<unknown> {
    const key = `${admin}|${path}`;
    if (!json.has(key)) {
      const res = await fetch(`${stack.url}${path}`, { headers: admin ? { authorization: `Bearer ${stack.adminKey}` } : {} });
      expect(res.status, path).toBe(200);
      json.set(key, await res.json());
    }
    return json.get(key);
  }

  /** Loads a page at phone width and runs every check; returns what it saw. */
  async function check(name: string, path: string, opts: { admin?: boolean; minMarks?: number; charts?: string[] } = {}) {
    const t0 = performance.now();
    const context = await browser.newContext({
      viewport: { width: PHONE_WIDTH, height: 800 },
      deviceScaleFactor: 1,
      extraHTTPHeaders: opts.admin ? { authorization: `Bearer ${stack.adminKey}` } : {},
    });
    const outside: string[] = [];
    const requests: { url: string; type: string }[] = [];
    // Every request the page makes goes through here: localhost continues, anything else is recorded and blocked.
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      requests.push({ url: url.href, type: route.request().resourceType() });
      if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return route.continue();
      outside.push(url.href);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const res = await page.goto(`${stack.url}${path}`, { waitUntil: "load" });
    expect(res?.status(), path).toBe(200);

    // No horizontal overflow at phone width: nothing wider than the viewport.
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      body: document.body.scrollWidth,
    }));
    expect(widths.scroll, `${path} scrollWidth`).toBeLessThanOrEqual(widths.client);
    expect(widths.client).toBe(PHONE_WIDTH);

    // The numbers: every mark against its JSON, and its drawn position against its axis.
    const marks = await page.$$eval("[data-pointer]", (els) =>
      els.map((el) => {
        const attrs = Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]));
        const src = el.getAttribute("data-source") ?? el.parentElement?.closest("[data-source]")?.getAttribute("data-source") ?? "";
        const svg = el.closest("svg");
        const shape = el.querySelector("circle, rect");
        const axis = svg?.hasAttribute("data-x-min")
          ? {
              x0: Number(svg.getAttribute("data-x-min")),
              x1: Number(svg.getAttribute("data-x-max")),
              p0: Number(svg.getAttribute("data-px-min")),
              p1: Number(svg.getAttribute("data-px-max")),
            }
          : null;
        const centre = shape
          ? shape.tagName === "circle"
            ? Number(shape.getAttribute("cx"))
            : Number(shape.getAttribute("x")) + Number(shape.getAttribute("width")) / 2
          : null;
        const fill = el.classList.contains("cell") ? el.querySelector("rect")?.getAttribute("fill") : null;
        return { attrs, source: src, axis, centre, fill, chart: svg?.getAttribute("data-chart") ?? null };
      }),
    );
    const problems: string[] = [];
    for (const m of marks) {
      const mark: Mark = { attrs: m.attrs, source: m.source };
      expect(m.source, JSON.stringify(m.attrs)).toMatch(/^\//);
      problems.push(...checkMark(mark, await source(m.source, !!opts.admin)));
      const est = m.attrs["data-estimate"];
      if (m.axis && m.centre != null && est !== "null" && m.attrs.class === "pt") {
        const v = Math.min(m.axis.x1, Math.max(m.axis.x0, Number(est)));
        const want = m.axis.p0 + ((v - m.axis.x0) / (m.axis.x1 - m.axis.x0)) * (m.axis.p1 - m.axis.p0);
        if (Math.abs(m.centre - want) > 0.02) problems.push(`${path} ${m.attrs["data-pointer"]}: drawn at ${m.centre}, value ${est} belongs at ${want}`);
      }
      if (m.fill && est !== "null" && m.fill !== rampColor(Number(est))) problems.push(`${path} ${m.attrs["data-pointer"]}: fill ${m.fill} for ${est}`);
    }
    expect(problems).toEqual([]);
    expect(marks.length, `${path}: marks`).toBeGreaterThanOrEqual(opts.minMarks ?? 0);
    const charts = await page.$$eval("svg[data-chart]", (els) => els.map((e) => e.getAttribute("data-chart")!));
    for (const c of opts.charts ?? []) expect(charts, path).toContain(c);

    // Accessibility: every chart has a name and a description; axe finds nothing serious.
    const unnamed = await page.$$eval(
      "svg[data-chart]",
      (els) => els.filter((e) => !e.querySelector("title")?.textContent || !e.querySelector("desc")?.textContent || e.getAttribute("role") !== "img").length,
    );
    expect(unnamed).toBe(0);
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const r = await (
        window as unknown as {
          axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> };
        }
      ).axe.run(document, {
        resultTypes: ["violations"],
      });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
    });
    expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

    // No scripts at all, and nothing fetched from anywhere but the worker.
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);
    expect(requests.filter((r) => r.type === "script" || r.type === "font")).toEqual([]);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);

    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    await context.close();
    checked[name] = { marks: marks.length, charts, requests: requests.length, ms: Math.round(performance.now() - t0) };
    return { marks, charts, violations };
  }

  it("run page: persona profile beside the base and the signature, deltas, safety summary and heat map", async () => {
    const r = await check("run", `/reports/runs/${stack.seed.runs.deontology}`, {
      minMarks: 29,
      charts: ["profile", "persona-deltas", "safety-summary", "heatmap"],
    });
    expect(r.marks.filter((m) => m.attrs["data-series"] === "expected").every((m) => m.source === "/v1/constitutions/deontology")).toBe(true);
  });

  it("endpoint page: newest results and badges", async () => {
    await check("endpoint", `/reports/endpoints/${stack.seed.virtue}`, { minMarks: 29, charts: ["profile", "heatmap"] });
  });

  it("experiment page: safety matrix, models by categories, and effects against the base", async () => {
    const r = await check("experiment", `/reports/experiments/${stack.seed.experiment}`, { minMarks: 30, charts: ["heatmap", "safety-effects"] });
    expect(r.marks.filter((m) => m.attrs.class === "cell").length).toBeGreaterThanOrEqual(3 * 8);
  });

  it("leaderboard page: every row's value and CI as in /v1/leaderboard", async () => {
    await check("leaderboard", `/leaderboard?tag=${stack.seed.tag}`, { minMarks: 30, charts: ["leaderboard"] });
  });

  it("private run page with the admin key; home, API reference and widget pages", async () => {
    await check("run-private-admin", `/reports/runs/${stack.seed.runs.hidden}`, { admin: true, minMarks: 29, charts: ["profile"] });
    await check("home", "/");
    await check("docs", "/docs");
    const w = await check("widget", `/embed/endpoints/${stack.seed.deontology}/metrics/safety.macro`);
    expect(w.charts).toEqual(["widget"]);
  });
});
