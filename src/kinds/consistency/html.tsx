/**
 * @module kinds/consistency/html: the persona-consistency evidence of a report, when the report has it. The
 * battery's JSON is read generically: its label and rule, its top-level facts, and every interval it holds
 * (an object with a numeric estimate and lo/hi) drawn with its CI, so the page follows the section as it grows.
 */
import { forestPlot } from "../../reports/svg/forest";
import { pointer } from "../../reports/svg/text";
import { Facts, Figure, Table, withCi } from "../../reports/html/parts";

type Json = Record<string, any>;

/** Report keys the consistency battery may use for its section. */
export const CONSISTENCY_KEYS = ["consistency", "personaConsistency", "persona_consistency"] as const;

/**
 * Field names read as an interval's estimate, in order of preference. A difference comes before the shares it is
 * taken from: a per-question difference carries `share` and `otherShare` beside `diff`, and its lo/hi are the diff's.
 */
const ESTIMATE_FIELDS = ["estimate", "diff", "delta", "rate", "share", "mean", "value", "gap", "score", "rho"];
/** Fields that name an element of a list (used for labels). */
const NAME_FIELDS = ["name", "label", "pole", "id", "endpointId", "category", "dimension", "format", "question", "set"];
/** Deepest nesting read (ours: the misalignment section's per-question score interval sits 6 deep; a guard, not a cut). */
const MAX_DEPTH = 8;
/** Most intervals drawn; more are listed in the table only (ours, keeps the chart readable). */
const MAX_PLOTTED = 40;

export interface EvidenceInterval {
  pointer: string;
  field: string;
  label: string;
  estimate: number;
  /** null where the section gives no interval (too few items), as its JSON does. */
  lo: number | null;
  hi: number | null;
  n: number | null;
}

const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** The consistency section of a report and its key, or null. */
export function findConsistency(report: Json): { key: string; section: Json } | null {
  for (const key of CONSISTENCY_KEYS) {
    const v = report?.[key];
    if (v && typeof v === "object" && !Array.isArray(v)) return { key, section: v };
  }
  return null;
}

/** Every interval in `node`, depth first, with the JSON Pointer of the object that holds it. */
export function collectIntervals(
  node: unknown,
  path: (string | number)[] = [],
  labels: string[] = [],
  out: EvidenceInterval[] = [],
  depth = 0,
): EvidenceInterval[] {
  if (depth > MAX_DEPTH || node === null || typeof node !== "object") return out;
  if (Array.isArray(node)) {
    node.forEach((el, i) => {
      const name =
        el && typeof el === "object" ? NAME_FIELDS.map((f) => (el as Json)[f]).find((v) => typeof v === "string" || typeof v === "number") : undefined;
      collectIntervals(el, [...path, i], [...labels, name !== undefined ? String(name) : `#${i + 1}`], out, depth + 1);
    });
    return out;
  }
  const obj = node as Json;
  const field = ESTIMATE_FIELDS.find((f) => isNum(obj[f]));
  if (field && "lo" in obj && "hi" in obj) {
    out.push({
      pointer: pointer(...path),
      field,
      label: labels.join(" › ") || field,
      estimate: obj[field],
      lo: isNum(obj.lo) ? obj.lo : null,
      hi: isNum(obj.hi) ? obj.hi : null,
      n: isNum(obj.n) ? obj.n : null,
    });
  }
  for (const [k, v] of Object.entries(obj)) if (v && typeof v === "object") collectIntervals(v, [...path, k], [...labels, k], out, depth + 1);
  return out;
}

/** Top-level scalar facts of the section (label, rule, counts...), as text. */
function topFacts(section: Json): [string, string][] {
  return Object.entries(section)
    .filter(([, v]) => typeof v === "string" || typeof v === "number" || typeof v === "boolean")
    .slice(0, 20)
    .map(([k, v]) => [
      k.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " "),
      typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v),
    ]);
}

/** A generic evidence section: the report's section under `key`, its facts and every interval in it. */
export function EvidenceSection(p: {
  report: Json;
  keys: readonly string[];
  source: string;
  idPrefix: string;
  level: 2 | 3;
  title: string;
  intro: string;
  name: string;
}) {
  let found: { key: string; section: Json } | null = null;
  for (const key of p.keys) {
    const v = p.report?.[key];
    if (v && typeof v === "object" && !Array.isArray(v)) {
      found = { key, section: v };
      break;
    }
  }
  if (!found) return null;
  const intervals = collectIntervals(found.section, [found.key]).map((iv) => ({ ...iv, label: iv.label.replace(/^[^›]*› /, "") || iv.label }));
  const plotted = intervals.slice(0, MAX_PLOTTED);
  const Heading = p.level === 2 ? "h2" : "h3";
  return (
    <section data-section={p.name} data-source={p.source}>
      <Heading id={`${p.idPrefix}-${p.name}`}>{p.title}</Heading>
      <p>{p.intro}</p>
      <Facts items={topFacts(found.section)} />
      {plotted.length ? (
        <Figure
          source={p.source}
          caption={`Each row is one estimate of the ${p.title.toLowerCase()} section with its 95% CI${intervals.length > plotted.length ? `; the first ${plotted.length} of ${intervals.length} are drawn, the table lists all` : ""}.`}
          svg={forestPlot({
            id: `${p.idPrefix}-${p.name}-chart`,
            chart: p.name,
            title: `${p.title}: evidence`,
            description: plotted.map((iv) => `${iv.label}: ${withCi(iv.estimate, iv.lo, iv.hi)}.`).join(" "),
            rows: plotted.map((iv) => ({
              key: iv.pointer,
              series: "evidence",
              label: iv.label,
              estimate: iv.estimate,
              lo: iv.lo,
              hi: iv.hi,
              n: iv.n ?? undefined,
              ref: { pointer: iv.pointer, field: iv.field },
            })),
            reference: null,
            axisLabel: "estimate (95% CI)",
          })}
        >
          <Table
            label={`${p.title}: evidence`}
            head={["Measure", "Estimate [95% CI]", "n"]}
            numeric={[1, 2]}
            rows={intervals.map((iv) => [iv.label, withCi(iv.estimate, iv.lo, iv.hi), iv.n == null ? "—" : String(iv.n)])}
          />
        </Figure>
      ) : null}
    </section>
  );
}

/** The persona-consistency battery's section (issue: persona consistency), when the report has one. */
export function ConsistencySection(p: { report: Json; source: string; idPrefix: string; level: 2 | 3 }) {
  return (
    <EvidenceSection
      {...p}
      keys={CONSISTENCY_KEYS}
      name="consistency"
      title="Persona consistency"
      intro="Does what the model says about itself match what it does? The evidence behind the label, each estimate with its 95% CI."
    />
  );
}

/** Emergent-misalignment and self-report sections, drawn the same way when a report has them. */
export function MisalignmentSections(p: { report: Json; source: string; idPrefix: string; level: 2 | 3 }) {
  return (
    <>
      <EvidenceSection
        {...p}
        keys={["misalignment"]}
        name="misalignment"
        title="Emergent misalignment"
        intro="Judged free-form answers: misaligned shares and scores, each with its 95% CI."
      />
      <EvidenceSection
        {...p}
        keys={["selfReport"]}
        name="self-report"
        title="Self-report"
        intro="What the model reports about itself beside what it does, each with its 95% CI."
      />
    </>
  );
}
