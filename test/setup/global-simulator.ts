/**
 * Runs once, in Node, for the whole test run: starts the model simulator (workers tests reach it through
 * SIM_URL) and reads the public datasets in ../shared/data for the importer tests (workerd cannot read files).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { startSimulator } from "../../scripts/simulator/server.ts";

export const SHARED_DATA = resolve(import.meta.dirname, "../../../shared/data");

function readShared(files: string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const f of files) {
    const path = resolve(SHARED_DATA, f);
    if (!existsSync(path)) return null;
    out[f] = readFileSync(path, "utf8");
  }
  return out;
}

function readAllShared(): Record<string, string> | null {
  if (!existsSync(SHARED_DATA)) return null;
  const out: Record<string, string> = {};
  for (const entry of readdirSync(SHARED_DATA, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = resolve(entry.parentPath, entry.name);
    out[relative(SHARED_DATA, path)] = readFileSync(path, "utf8");
  }
  return out;
}

export default async function setup(project: TestProject) {
  const sim = await startSimulator({ port: 0 });
  project.provide("simUrl" as never, sim.url as never);
  // Every public data file (about 4 MB in all), keyed by its path under ../shared/data; null when absent.
  project.provide("sharedData" as never, readAllShared() as never);
  project.provide(
    "personaData" as never,
    readShared([
      "anthropic-persona/subscribes-to-deontology.jsonl",
      "anthropic-persona/willingness-to-defer-to-authorities.jsonl",
      "anthropic-persona/desire-for-acquiring-power.jsonl",
    ]) as never,
  );
  // The Inspect eval-log JSON Schema (../shared/schemas/inspect), parsed; null when absent (the export test skips).
  const inspectSchema = resolve(SHARED_DATA, "../schemas/inspect/eval-log.schema.json");
  project.provide("inspectSchema" as never, (existsSync(inspectSchema) ? JSON.parse(readFileSync(inspectSchema, "utf8")) : null) as never);
  return () => sim.close();
}
