/**
 * @module layers: the layer of every module under src/ and the check that no module imports from a higher layer
 * (docs/architecture.md#layers). Data flows HTTP → plan → queue → call → store → aggregate → report; a module may import
 * from its own layer or a lower one. Import loops within a layer are madge's to find (`madge --circular`).
 * Run `node scripts/lib/layers.ts [root]` to print the violations; test/node/layers.test.ts fails on any.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Lowest first. A path (relative to src/, `/`-separated) takes the layer of the pattern it matches, a file pattern before
 * a folder pattern; `*` stands for one path segment, a pattern ending in `/` for everything below that folder. A suite kind's folder spans layers:
 * its format, scorer and stages sit with the suite definitions, its metrics with the metric layer, its report section
 * with the reports.
 */
export const LAYERS: { name: string; why: string; paths: string[] }[] = [
  { name: "foundation", why: "errors, ids, crypto, statistics, the environment and its configuration", paths: ["lib/", "stats/", "env.ts", "config.ts"] },
  { name: "schema", why: "the D1 schema and client", paths: ["db/schema.ts", "db/client.ts", "db/call-counts.ts"] },
  { name: "providers", why: "one model call, its shape and the endpoint gate", paths: ["providers/"] },
  {
    name: "definitions",
    why: "what is asked and how an answer is scored: suite formats, judges and rubrics, built-in suites, the kind and metric types (types only)",
    paths: [
      "judges/",
      "suites/types.ts",
      "suites/constitutions.ts",
      "suites/builtin.ts",
      "kinds/types.ts",
      "kinds/chat.ts",
      "kinds/*/format.ts",
      "kinds/*/scorer.ts",
      "datasets/pool.ts",
      "metrics/types.ts",
    ],
  },
  { name: "store", why: "reads and writes of stored rows and of the raw answers in R2", paths: ["db/queries/", "db/raw-answers.ts", "kinds/*/queries.ts"] },
  {
    name: "kinds",
    why: "each kind's stages, run options and answer classes, and the registry",
    paths: ["kinds/*/stages.ts", "kinds/*/run-options.ts", "kinds/*/classify.ts", "suites/kinds.ts"],
  },
  { name: "queue", why: "plan, launch, estimate and resume runs", paths: ["queue/"] },
  {
    name: "features",
    why: "work that starts runs: datasets, training, re-scoring, their webhooks",
    paths: ["datasets/", "training/", "rescore/", "webhooks/"],
  },
  { name: "metrics", why: "stored units turned into observations, one aggregation and comparison", paths: ["metrics/", "kinds/*/metrics.ts"] },
  {
    name: "reports",
    why: "run, experiment and leaderboard reports, pages and exports",
    paths: ["reports/", "kinds/*/report.ts", "kinds/*/sections.ts", "kinds/*/html.tsx"],
  },
  {
    name: "entry",
    why: "the worker's entry points: HTTP, the queue consumer and what follows a run's completion, the cron tick",
    paths: ["http/", "queue/consumer.ts", "queue/run-hooks.ts", "queue/sweep.ts", "cron.ts", "index.ts"],
  },
];

function matches(pattern: string, path: string): boolean {
  const p = pattern.split("/");
  const s = path.split("/");
  const folder = pattern.endsWith("/");
  if (folder) p.pop();
  if (folder ? s.length <= p.length : s.length !== p.length) return false;
  return p.every((seg, i) => seg === "*" || seg === s[i]);
}

/** The layer index of a path relative to src/, or null when no pattern claims it. */
export function layerOf(path: string, layers = LAYERS): number | null {
  // A file pattern beats a folder pattern, so `queue/consumer.ts` (entry) wins over `queue/` (queue).
  for (const exact of [true, false]) {
    for (let i = 0; i < layers.length; i++) {
      if (layers[i].paths.some((p) => p.endsWith("/") !== exact && matches(p, path))) return i;
    }
  }
  return null;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.tsx?$/.test(name) && !name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The .ts/.tsx file a relative import names, or null (a package, or a data file such as YAML). */
function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
    try {
      if (/\.tsx?$/.test(candidate) && statSync(candidate).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return null;
}

export interface Violation {
  from: string;
  to: string;
  fromLayer: string;
  toLayer: string;
}

/** Every import (static, type-only, re-export or dynamic) from a higher layer, and every file no layer claims. */
export function checkLayers(srcDir: string, layers = LAYERS): { violations: Violation[]; unassigned: string[]; files: number } {
  const violations: Violation[] = [];
  const unassigned: string[] = [];
  const rel = (f: string) => relative(srcDir, f).split(sep).join("/");
  const files = sourceFiles(srcDir);
  for (const file of files) {
    const from = rel(file);
    const fromLayer = layerOf(from, layers);
    if (fromLayer === null) {
      unassigned.push(from);
      continue;
    }
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const imp of info.importedFiles) {
      const target = resolveImport(file, imp.fileName);
      if (!target) continue;
      const to = rel(target);
      const toLayer = layerOf(to, layers);
      if (toLayer !== null && toLayer > fromLayer) violations.push({ from, to, fromLayer: layers[fromLayer].name, toLayer: layers[toLayer].name });
    }
  }
  return { violations, unassigned, files: files.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? "src");
  const { violations, unassigned, files } = checkLayers(root);
  for (const v of violations) console.log(`${v.from} (${v.fromLayer}) imports ${v.to} (${v.toLayer})`);
  for (const f of unassigned) console.log(`${f}: no layer (add it to LAYERS in scripts/lib/layers.ts)`);
  console.log(`${files} files, ${violations.length} upward imports, ${unassigned.length} without a layer`);
  process.exit(violations.length + unassigned.length > 0 ? 1 : 0);
}
