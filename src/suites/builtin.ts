/** @module suites/builtin: the suites we ship, bundled as YAML and parsed once per isolate. */
import personaDiagnostic from "./builtin/persona-diagnostic.yaml";
import { parsePersonaYaml } from "./persona";
import type { SuiteDefinition } from "./types";

const loaders: Record<string, () => SuiteDefinition> = {
  "persona-diagnostic": () => parsePersonaYaml(personaDiagnostic),
};

const cache = new Map<string, SuiteDefinition>();

export const BUILTIN_SUITE_IDS = Object.keys(loaders);

export function builtinSuite(id: string): SuiteDefinition | undefined {
  if (!loaders[id]) return undefined;
  if (!cache.has(id)) cache.set(id, loaders[id]());
  return cache.get(id);
}
