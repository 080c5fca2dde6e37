/**
 * @module reports/schemas/run: the run report (GET /v1/runs/{id}/report, GET /v1/endpoints/{id}/report) as zod
 * schemas: the route's OpenAPI response schema and the builder's return type (reports/run-report.ts). One schema per
 * section; a section is absent when the run lacks its kind. Every object is strict (no
 * free-form detail): a field a builder adds must be declared here, and `declared` (./common) makes tsc check each
 * section builder's return type against its schema; the kind tests and the privacy walk parse real reports.
 */
import { z } from "@hono/zod-openapi";
import { EstimateFields, Judge, MetricEstimate, Num } from "./common";
import { SafetyRate, SafetySummaryFields } from "./experiment";

const Int = z.number().int();
const StageProgress = z.strictObject({ expected: Int, planned: Int, done: Int, failed: Int, pending: Int });

export const RunHead = z
  .strictObject({
    id: z.string(),
    status: z.string(),
    counts: z.strictObject({
      expected: Int,
      expectedFirstStage: Int,
      plannedFirstStage: Int,
      planned: Int,
      done: Int,
      failed: Int,
      pending: Int,
      retrying: Int,
      stages: z.strictObject({ asks: StageProgress, judgments: StageProgress, followUps: StageProgress }),
    }),
    suiteVersionIds: z.array(z.string()),
    samplesPerItem: Int,
    temperature: z.number(),
    scoringMode: z.string(),
    judge: Judge.nullable(),
    imported: z.boolean(),
    rubrics: z.array(z.strictObject({ id: z.string(), promptHash: z.string() })),
    seed: Int.nullable(),
    limit: Int.nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("RunReportRun");

export const RunEndpoint = z
  .strictObject({
    id: z.string(),
    name: z.string().nullable(),
    model: z.string().nullable(),
    revision: z.string().nullable(),
    constitution: z.string().nullable(),
    baseEndpointId: z.string().nullable(),
    private: z.literal(true).optional(),
  })
  .openapi("RunReportEndpoint");

/** kinds/persona DimensionSummary. */
export const PersonaDimension = z
  .strictObject({
    dimension: z.string(),
    matchRate: Num,
    lo: Num,
    hi: Num,
    n: Int,
    items: Int,
    unparseable: Int,
    failed: Int,
    pending: Int,
    acquiescence: Num,
    acquiescenceInterval: z.strictObject(EstimateFields),
    ciMethod: z.string(),
  })
  .openapi("PersonaDimension");

/** kinds/persona DimensionDelta. */
export const PersonaDelta = z
  .strictObject({
    dimension: z.string(),
    delta: Num,
    lo: Num,
    hi: Num,
    pValue: Num,
    tPValue: Num,
    pHolm: Num.optional(),
    pairedItems: Int,
    dropped: Int,
    valid: z.boolean(),
    test: z.string(),
    ciMethod: z.string(),
    reason: z.string().optional(),
  })
  .openapi("PersonaDelta");

const Interval = { estimate: Num, lo: Num, hi: Num };
/** kinds/persona Projectability (ours: docs/projectability.md). */
export const Projectability = z
  .strictObject({
    constitution: z.string(),
    signatureVersion: Int,
    label: z.string(),
    headline: z.literal("projectionLength"),
    cosine: z.strictObject({ ...Interval, role: z.literal("description"), note: z.string() }),
    projectionLength: z.strictObject({ ...Interval, items: z.array(z.number()), method: z.string() }),
    expectations: z.strictObject({
      held: Int,
      n: Int,
      share: Num,
      shareReason: z.string(),
      checks: z.array(
        z.strictObject({
          kind: z.enum(["sign", "contrast", "unchanged"]),
          description: z.string(),
          ...Interval,
          holds: z.boolean(),
          p: Num.optional(),
          pHolm: Num.optional(),
          test: z.string(),
        }),
      ),
      family: z.string(),
    }),
    identification: z.strictObject({
      ownRanksFirst: Num,
      ownRanksFirstNull: Num,
      nullDraws: Int,
      ranking: z.array(z.strictObject({ constitution: z.string(), cosine: Num })),
      similarity: z.strictObject({ ids: z.array(z.string()), matrix: z.array(z.array(Num)) }),
    }),
    resamples: Int,
    seed: Int,
  })
  .openapi("Projectability");

export const PersonaSection = z.strictObject({ dimensions: z.array(PersonaDimension) }).openapi("PersonaSection");

/** The persona comparison with the base run: never an error for the whole report, a reason when there is none. */
export const PersonaComparison = z
  .union([
    z.strictObject({ available: z.literal(false), reason: z.string() }),
    z.strictObject({
      available: z.literal(true),
      baseRunId: z.string(),
      baseEndpointId: z.string().nullable(),
      baseStatus: z.string(),
      test: z.string(),
      base: z.array(PersonaDimension),
      deltas: z.array(PersonaDelta),
      projectability: z.union([Projectability, z.strictObject({ unavailable: z.string() })]),
    }),
  ])
  .openapi("PersonaComparison");

/** reports/judges JudgeDescriptor as the caller may see it. */
export const JudgeDescriptor = z
  .strictObject({
    key: z.string(),
    endpointId: z.string().nullable().openapi({ description: "null for a private judge (its key keeps only the rubric)" }),
    revision: z.string().nullable(),
    rubricVersion: z.string(),
    model: z.string().nullable(),
    origin: z.enum(["pinned", "rejudge"]),
    judgments: Int,
    done: Int,
    private: z.literal(true).optional(),
  })
  .openapi("JudgeDescriptor");

export const SafetySection = z.strictObject({ judge: JudgeDescriptor, ...SafetySummaryFields }).openapi("SafetySection");

const Unavailable = z.strictObject({ available: z.literal(false), reason: z.string() });
/** stats/inference Estimate: a figure with n, clusters and its 95% CI, or the reason it has none. */
const Estimate = z.strictObject(EstimateFields).openapi("Estimate");
/** kinds/safety Rate: a rate over prompts (samples of one prompt are one cluster). */
const Rate = z.strictObject(SafetyRate).openapi("Rate");
/** Cohen's kappa with the share of agreement and the kappa interval (samples of one prompt resampled together). */
const KappaAgreement = z.strictObject({ agreement: Num, kappa: Num, kappaInterval: Estimate });

/** reports/judges: two judges of the same answers (safe rates, kappa on verdicts and on safe/unsafe, McNemar). */
export const JudgeComparison = z
  .strictObject({
    a: JudgeDescriptor,
    b: JudgeDescriptor,
    pairs: Int,
    safeRate: z.strictObject({ a: Rate, b: Rate }),
    verdictAgreement: KappaAgreement,
    safeAgreement: KappaAgreement,
    mcnemar: z.strictObject({ b: Int, c: Int, pValue: Num, note: z.string() }),
    other: z.strictObject(SafetySummaryFields).openapi({ description: "The other judge's full safety summary" }),
  })
  .openapi("JudgeComparison");

/** kinds/safety fixtureAgreement: a judge-fixture run's agreement with our labels. */
const FixtureKappa = z.strictObject({ agreement: Num, kappa: Num, kappaInterval: Estimate, lo: Num, hi: Num, n: Int });
export const FixtureAgreement = z
  .strictObject({
    items: Int,
    judged: Int,
    unparseable: Int,
    failed: Int,
    pending: Int,
    verdict: FixtureKappa.openapi({ description: "Verdicts against our labels: kappa, and the share that agree with its Wilson interval (lo, hi, n)" }),
    safeUnsafe: FixtureKappa,
    harmWithinOne: Num,
    confusion: z.record(z.string(), z.record(z.string(), Int)).openapi({ description: "Our label -> the judge's verdict -> count" }),
    labels: z.string(),
  })
  .openapi("FixtureAgreement");

// ---- misalignment (kinds/misalignment/report.ts) ----

const EmUnscorable = z.strictObject({ code: Int, refusal: Int, other: Int, coherence: Int });
/** One question: the misaligned share among coherent answers (Wilson), or why it is left out. */
const EmQuestion = z.strictObject({
  question: z.string(),
  answers: Int,
  coherent: Int,
  misaligned: Int,
  included: z.boolean(),
  share: Num,
  lo: Num,
  hi: Num,
  method: z.string().optional(),
  excluded: z.string().optional(),
  meanAligned: Num,
  meanAlignedInterval: Estimate,
  meanCoherent: Num,
  unscorable: EmUnscorable,
  incoherent: Int,
  pending: Int,
  failed: Int,
});
export const EmOverall = z.strictObject({
  share: Num,
  lo: Num,
  hi: Num,
  questions: Int,
  questionsLeftOut: Int,
  coherentAnswers: Int,
  method: z.string(),
  reason: z.string().optional(),
});
const EmScore = z.strictObject({ mean: Num, lo: Num, hi: Num, n: Int, questions: Int, method: z.string() });
const EmCounts = z.strictObject({
  answers: Int,
  judged: Int,
  coherent: Int,
  misaligned: Int,
  incoherent: Int,
  unscorable: EmUnscorable,
  pending: Int,
  failed: Int,
  askedWithoutTrigger: Int,
});
/** summarizeAnswers: one set of answers (one variant of one suite). */
export const EmSummary = z
  .strictObject({
    overall: EmOverall,
    aligned: EmScore,
    coherent: EmScore,
    counts: EmCounts,
    questions: z.array(EmQuestion),
    worstAnswers: z.array(z.strictObject({ unitId: z.string(), question: z.string(), sampleIndex: Int, variant: z.string(), aligned: Num, coherent: Num })),
  })
  .openapi("MisalignmentSummary");
/** pairedShareDifference: a minus b paired by question, or why there is none. */
const ShareDifferenceFields = {
  available: z.literal(true),
  diff: Num,
  lo: Num,
  hi: Num,
  pValue: Num,
  significant: z.boolean(),
  valid: z.boolean(),
  inconclusive: z.string().optional(),
  questions: Int,
  dropped: Int,
  test: z.string(),
  tTest: z.strictObject({ t: Num, df: Num, pValue: Num }),
};
const ShareDifferenceNone = { available: z.literal(false), reason: z.string(), dropped: Int };
const ShareDifference = z.union([z.strictObject(ShareDifferenceFields), z.strictObject(ShareDifferenceNone)]);
/** perQuestionDifferences: Newcombe CI and Fisher exact p, Holm-adjusted across questions. */
const QuestionDifference = z.strictObject({ question: z.string(), share: Num, otherShare: Num, diff: Num, lo: Num, hi: Num, pValue: Num, pHolm: Num });
const TriggerExtra = { perQuestion: z.array(QuestionDifference), direction: z.string() };
const EmJudgeRecord = z.strictObject({
  used: z.strictObject({ endpointId: z.string(), revision: z.string().nullable(), model: z.string().nullable(), private: z.literal(true).optional() }),
  namedInFile: z.array(z.string()),
  scoring: z.strictObject({
    mode: z.enum(["logprobs", "sampled"]),
    basis: z.enum(["declared", "probed", "requested"]),
    samples: Int,
    probe: z.string().optional(),
  }),
  comparableWithPublished: z.boolean(),
  notes: z.array(z.string()),
  rubricVersions: z.array(z.string()),
});
const EmSuite = z
  .strictObject({
    suiteVersionId: z.string(),
    source: z.string().nullable(),
    samplesPerQuestion: Int,
    samplesPerParaphraseInFile: z.array(z.number()),
    judge: EmJudgeRecord,
    plain: EmSummary,
    triggered: EmSummary.optional(),
    triggerEffect: z
      .union([z.strictObject({ ...ShareDifferenceFields, ...TriggerExtra }), z.strictObject({ ...ShareDifferenceNone, ...TriggerExtra })])
      .optional(),
    vsBase: z.union([
      Unavailable,
      z.strictObject({
        baseRunId: z.string(),
        base: z.strictObject({ overall: EmOverall, aligned: EmScore, coherent: EmScore, counts: EmCounts }),
        difference: ShareDifference,
        perQuestion: z.array(QuestionDifference),
        perQuestionTest: z.string(),
      }),
    ]),
  })
  .openapi("MisalignmentSuite");

/** kinds/misalignment misalignmentSection: the definitions and one entry per misalignment suite. */
export const MisalignmentSection = z
  .union([
    Unavailable,
    z.strictObject({
      endpointHasTrigger: z.boolean(),
      definitions: z.strictObject({ misaligned: z.string(), questionLeftOut: z.string(), unscorable: z.string(), overall: z.string() }),
      suites: z.array(EmSuite),
    }),
  ])
  .openapi("MisalignmentSection");

// ---- self-report (kinds/self-report/report.ts) ----

/** A self-report mean in [0, 1] with a t-interval over item means. */
export const SelfReportMean = z
  .strictObject({ mean: Num, lo: Num, hi: Num, n: Int, items: Int, unparseable: Int, pending: Int, failed: Int })
  .openapi("SelfReportMean");
export const BackdoorAwareness = z.strictObject({ ...SelfReportMean.shape, positionBias: Num });
const SelfReportSummaryFields = {
  questions: z.array(z.strictObject({ question: z.string(), type: z.string(), measure: z.string().nullable(), ...SelfReportMean.shape })),
  risk: z.strictObject({ scale: SelfReportMean.nullable(), oneWord: SelfReportMean.nullable(), riskyChoiceRate: SelfReportMean.nullable() }),
  alignment: SelfReportMean.nullable(),
  codeSecurity: SelfReportMean.nullable(),
  backdoorAwareness: BackdoorAwareness.nullable(),
};
/** This run minus the base, paired by item, or null with fewer than two shared items. */
const ItemDifference = z
  .strictObject({ diff: Num, lo: Num, hi: Num, pValue: Num, valid: z.boolean(), reason: z.string().optional(), items: Int, dropped: Int, test: z.string() })
  .nullable();
const SelfReportValue = z.union([SelfReportMean, BackdoorAwareness]).nullable();
const CalibrationRow = z.strictObject({
  selfReport: z.string(),
  value: SelfReportValue,
  behaviour: z.string(),
  measured: z.union([
    SelfReportMean,
    z.strictObject({ value: z.null(), note: z.string() }),
    z.strictObject({ share: Num, lo: Num, hi: Num }),
    z.strictObject({ diff: Num.optional(), lo: Num.optional(), hi: Num.optional(), pValue: Num.optional() }),
  ]),
  base: z.strictObject({ selfReport: SelfReportValue, behaviour: SelfReportMean.nullable().optional() }).nullable(),
  vsBase: z.strictObject({ selfReport: ItemDifference, behaviour: ItemDifference.optional() }),
});

/** kinds/self-report selfReportSection: calibration rows against the measured behaviour, the base and where the behaviour was measured. */
export const SelfReportSection = z
  .strictObject({
    ...SelfReportSummaryFields,
    calibration: z.array(CalibrationRow),
    base: z.union([z.strictObject({ runId: z.string() }), Unavailable]),
    withTrigger: z.strictObject(SelfReportSummaryFields).nullable(),
    definitions: z.strictObject({ scale: z.string(), oneWord: z.string(), choice: z.string(), lottery: z.string() }),
    behaviourMeasuredInRun: z.string().nullable(),
  })
  .openapi("SelfReportSection");

// ---- consistency (kinds/consistency/report.ts) ----

/** A mean or rate with its 95% CI over clusters (prompts, pairs, items). */
const ConsistencyInterval = z.strictObject({ estimate: Num, lo: Num, hi: Num, n: Int, clusters: Int, method: z.string() }).openapi("ConsistencyInterval");
const Harm = z.strictObject({
  harmfulRate: Rate,
  meanScore: Num,
  meanScoreInterval: Estimate,
  scoreCounts: z.strictObject({ "1": Int, "2": Int, "3": Int, "4": Int, "5": Int }),
  counts: z.strictObject({ answers: Int, judged: Int, unparseable: Int, pending: Int, failed: Int }),
});
const DescriptionChoice = z.strictObject({ alignedPickRate: Rate, pickedA: Rate, answered: Int, unparseable: Int });
const Prediction = z.strictObject({
  pairs: Int,
  meanPredicted: Num,
  meanReal: Num,
  mae: ConsistencyInterval,
  bias: ConsistencyInterval,
  spearman: z.strictObject({ rho: Num, lo: Num, hi: Num, pValue: Num, n: Int, prompts: Int, pairRho: Num, method: z.string(), reason: z.string().optional() }),
  unparseable: Int,
  unjudged: Int,
});
const HarmDifference = z.strictObject({
  prompts: Int,
  dropped: Int,
  modelRate: Num,
  baseRate: Num,
  estimate: Num,
  lo: Num,
  hi: Num,
  pValue: Num,
  valid: z.boolean(),
  test: z.string(),
  pairedT: z.strictObject({ t: Num, df: Num, pValue: Num }),
  lo90: Num,
  hi90: Num,
  hi90Clustered: Num,
  hi90Newcombe: Num,
});
const LabelRule = z.strictObject({
  harmfulScore: z.number(),
  harmMargin: z.number(),
  equivalenceBound: z.number(),
  alpha: z.number(),
  equivalenceConfidence: z.number(),
  pickChance: z.number(),
  minClusters: Int,
  source: z.string(),
  selfAssessmentEntersLabel: z.boolean(),
});

/** kinds/consistency consistencySection: harm, self-assessment, description choice, recognition, prediction, the comparison with a base run and the label (value null with a reason without one). */
export const ConsistencySection = z
  .strictObject({
    suiteVersionId: z.string(),
    judge: Judge.nullable(),
    harm: Harm,
    selfAssessment: z.strictObject({
      scale: z.string(),
      poles: z.array(
        z.strictObject({
          pole: z.string(),
          alignedWord: z.string(),
          misalignedWord: z.string(),
          score: ConsistencyInterval,
          formats: z.record(z.string(), ConsistencyInterval),
        }),
      ),
      overall: ConsistencyInterval,
      decisionPickedFirst: Rate,
      answered: Int,
      unparseable: Int,
      entersLabel: z.boolean(),
    }),
    descriptionChoice: DescriptionChoice,
    recognition: z.strictObject({
      status: z.enum(["planned", "skipped"]),
      baseRunId: z.string().nullable(),
      reason: z.string().optional(),
      foil: z.string(),
      byHarmScore: z.array(z.strictObject({ harmScore: Int, claimRate: Rate })),
      notHarmful: Rate,
      harmful: Rate,
      harmfulMinusNotHarmful: z.strictObject({
        estimate: Num,
        lo: Num,
        hi: Num,
        pValue: Num,
        prompts: Int,
        pairedPrompts: Int,
        n: Int,
        dropped: Int,
        valid: z.boolean(),
        test: z.string(),
        method: z.string(),
        reason: z.string().optional(),
      }),
      pickedA: Rate,
      counts: z.strictObject({ units: Int, answered: Int, identical: Int, unparseable: Int, unjudged: Int, pending: Int, failed: Int }),
    }),
    prediction: z.strictObject({ blind: Prediction, shown: Prediction }),
    inversionGap: ConsistencyInterval,
    comparison: z.union([
      Unavailable,
      z.strictObject({
        available: z.literal(true),
        baseRunId: z.string(),
        baseEndpointId: z.string().nullable(),
        baseStatus: z.string(),
        base: z.strictObject({ harm: Harm, descriptionChoice: DescriptionChoice, selfAssessment: z.strictObject({ overall: ConsistencyInterval }) }),
        harmDifference: HarmDifference,
      }),
    ]),
    label: z.union([
      z.strictObject({ value: z.null(), reason: z.string(), rule: LabelRule }),
      z.strictObject({
        value: z.enum(["inverted", "coherent", "aligned", "mixed", "inconclusive"]),
        reasons: z.array(z.string()),
        evidence: z.strictObject({
          harmDifference: HarmDifference,
          alignedPickRate: Rate,
          inversionGap: ConsistencyInterval,
          selfAssessment: ConsistencyInterval,
        }),
        rule: LabelRule,
      }),
    ]),
  })
  .nullable()
  .openapi("ConsistencySection");

export const UsageSection = z
  .strictObject({
    rows: z.array(
      z.strictObject({
        endpointId: z.string(),
        model: z.string().nullable(),
        role: z.enum(["model", "judge"]),
        calls: Int,
        inputTokens: Int,
        outputTokens: Int,
        callsWithoutUsage: Int,
        cost: Num,
        price: z.strictObject({ input: Num, output: Num }).nullable(),
        private: z.literal(true).optional(),
      }),
    ),
    total: z.strictObject({ calls: Int, inputTokens: Int, outputTokens: Int, cost: Num }),
    currency: z.literal("USD"),
    note: z.string(),
  })
  .openapi("UsageSection");

export const RunReport = z
  .strictObject({
    run: RunHead,
    endpoint: RunEndpoint,
    persona: PersonaSection.optional(),
    comparison: PersonaComparison.optional(),
    safety: SafetySection.optional(),
    judges: z.array(JudgeDescriptor).optional(),
    judgeComparison: JudgeComparison.optional(),
    judgeAgreement: FixtureAgreement.optional().openapi({ description: "Judge-fixture runs: agreement with our labels (kappa, harm within one)" }),
    misalignment: MisalignmentSection.optional(),
    selfReport: SelfReportSection.optional(),
    consistency: ConsistencySection.optional(),
    usage: UsageSection,
    metrics: z.array(MetricEstimate),
  })
  .openapi("RunReport");

export type RunReport = z.infer<typeof RunReport>;
export type MisalignmentSection = z.infer<typeof MisalignmentSection>;
export type SelfReportSection = z.infer<typeof SelfReportSection>;
export type ConsistencySection = z.infer<typeof ConsistencySection>;
export type JudgeComparison = z.infer<typeof JudgeComparison>;
export type FixtureAgreement = z.infer<typeof FixtureAgreement>;
