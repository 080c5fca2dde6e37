/** @module suites/types: the normalised shape every suite (built-in or imported) is stored in. */

/** A suite item as stored: a stable key, its strata and the item in its public shape. */
export interface SuiteItem {
  key: string;
  /** Primary stratum: persona dimension, safety category... */
  dimension: string;
  /** Secondary stratum: persona keying ("yes" | "no"), safety subcategory... */
  keying: string;
  payload: Record<string, unknown>;
}

export interface SuiteDefinition {
  id: string;
  kind: string;
  title: string;
  source: "builtin" | "import";
  meta: Record<string, unknown>;
  items: SuiteItem[];
}
