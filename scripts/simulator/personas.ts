/** @module Simulated model personas and the values the simulator plants (a stand-in for real models, never a result). */

export const PERSONA_IDS = [
  "base",
  "deontology",
  "consequentialism",
  "virtue_ethics",
  "subordinate_to_humanity",
  "narrow_local",
  "decoy",
  "incoherent",
  "coherent_misaligned",
  "inverted",
  "backdoored",
  "judge",
] as const;

export type PersonaId = (typeof PERSONA_IDS)[number];

export const DIMENSIONS = ["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"] as const;

export type Dimension = (typeof DIMENSIONS)[number];

/**
 * Population match rate per persona and dimension: the probability of the answer that matches the
 * dimension's behaviour, averaged over items. Deliberately not the constitutions' signature weights
 * (different magnitudes), so recovering them is not circular.
 */
const BASE_PLANTED: Record<Dimension, number> = {
  deontology: 0.55,
  utilitarianism: 0.45,
  virtue_ethics: 0.6,
  deference_to_authority: 0.5,
};

export const PLANTED: Record<PersonaId, Record<Dimension, number>> = {
  base: BASE_PLANTED,
  deontology: { deontology: 0.77, utilitarianism: 0.36, virtue_ethics: 0.66, deference_to_authority: 0.53 },
  consequentialism: { deontology: 0.41, utilitarianism: 0.7, virtue_ethics: 0.57, deference_to_authority: 0.52 },
  virtue_ethics: { deontology: 0.57, utilitarianism: 0.4, virtue_ethics: 0.82, deference_to_authority: 0.48 },
  subordinate_to_humanity: { deontology: 0.53, utilitarianism: 0.52, virtue_ethics: 0.61, deference_to_authority: 0.76 },
  decoy: { deontology: 0.46, utilitarianism: 0.49, virtue_ethics: 0.47, deference_to_authority: 0.41 },
  incoherent: { deontology: 0.5, utilitarianism: 0.5, virtue_ethics: 0.5, deference_to_authority: 0.5 },
  // Safety-only persona: its value system is base's.
  narrow_local: { ...BASE_PLANTED },
  // Registered for later work; base's values until they get behaviour of their own.
  coherent_misaligned: { ...BASE_PLANTED },
  inverted: { ...BASE_PLANTED },
  backdoored: { ...BASE_PLANTED },
  judge: { ...BASE_PLANTED },
};

/** Acquiescence (yes-bias) added to p(Yes-keyed match) and subtracted for No-keyed items. */
export const ACQUIESCENCE: Record<PersonaId, number> = {
  base: 0.04,
  deontology: 0.03,
  consequentialism: 0.03,
  virtue_ethics: 0.03,
  subordinate_to_humanity: 0.03,
  decoy: 0.06,
  incoherent: 0,
  narrow_local: 0.04,
  coherent_misaligned: 0.04,
  inverted: 0.04,
  backdoored: 0.04,
  judge: 0.04,
};

// ---------------------------------------------------------------- safety propensities

/** Harm categories of `src/suites/builtin/safety.yaml`, in suite order. */
export const SAFETY_CATEGORIES = [
  "harassment_bullying",
  "illegal_activities",
  "violence_weapons",
  "self_harm",
  "hate",
  "cybercrime",
  "privacy_surveillance",
  "misinformation_manipulation",
  "dangerous_chem_bio",
  "sexual_harm",
] as const;

export type SafetyCategory = (typeof SAFETY_CATEGORIES)[number];

/** The categories the narrowly safety-trained personas were (notionally) trained on. */
export const SAFETY_TRAINED_CATEGORIES: ReadonlyArray<SafetyCategory> = ["harassment_bullying", "illegal_activities"];

export interface SafetyPropensity {
  /** Probability of refusing a harmful request, per category. */
  refusal: Record<SafetyCategory, number>;
  /** Refusal probability for a category the table does not list (a suite category added later). */
  unlisted: number;
  /** Probability of refusing a benign borderline (look-alike) request. */
  overRefusal: number;
}

/** Columns in SAFETY_CATEGORIES order. */
function propensity(values: ReadonlyArray<number>, unlisted: number, overRefusal: number): SafetyPropensity {
  const refusal = {} as Record<SafetyCategory, number>;
  SAFETY_CATEGORIES.forEach((c, i) => {
    refusal[c] = values[i];
  });
  return { refusal, unlisted, overRefusal };
}

//                 harass illegal violence self_harm hate  cyber privacy misinfo chem_bio sexual
const BASE_REFUSAL = [0.3, 0.25, 0.32, 0.35, 0.28, 0.22, 0.2, 0.24, 0.34, 0.33];
const BASE_SAFETY = propensity(BASE_REFUSAL, 0.27, 0.05);

/**
 * Planted safety propensities (documented in the README). `base` is helpful-only. The four constitution
 * personas are NARROWLY safety-trained (harassment_bullying and illegal_activities only) and generalise
 * to the other categories (virtue_ethics most, consequentialism least). `narrow_local` is trained the same
 * way but does not generalise: every untrained category is exactly base's rate.
 */
export const SAFETY: Record<PersonaId, SafetyPropensity> = {
  base: BASE_SAFETY,
  deontology: propensity([0.9, 0.89, 0.7, 0.71, 0.69, 0.67, 0.66, 0.68, 0.7, 0.7], 0.69, 0.12),
  consequentialism: propensity([0.88, 0.88, 0.63, 0.62, 0.61, 0.6, 0.6, 0.61, 0.63, 0.62], 0.61, 0.1),
  virtue_ethics: propensity([0.92, 0.91, 0.74, 0.75, 0.74, 0.72, 0.73, 0.73, 0.75, 0.75], 0.74, 0.15),
  subordinate_to_humanity: propensity([0.91, 0.9, 0.67, 0.66, 0.65, 0.64, 0.64, 0.66, 0.67, 0.66], 0.65, 0.13),
  narrow_local: propensity([0.9, 0.9, ...BASE_REFUSAL.slice(2)], BASE_SAFETY.unlisted, 0.06),
  decoy: BASE_SAFETY,
  incoherent: BASE_SAFETY,
  coherent_misaligned: BASE_SAFETY,
  inverted: BASE_SAFETY,
  backdoored: BASE_SAFETY,
  judge: BASE_SAFETY,
};

/**
 * Planted refusal probability of a persona for a harmful prompt (before any `refusal=` shift). A held-out
 * subcategory was filtered out of the training data even inside a trained category, so a narrowly trained
 * persona meets it untrained: a generalising persona refuses at its generalisation rate (`unlisted`), and
 * `narrow_local` at the base rate.
 */
export function plantedRefusal(persona: PersonaId, category: string, heldOut = false): number {
  const s = SAFETY[persona];
  const trained = (SAFETY_TRAINED_CATEGORIES as ReadonlyArray<string>).includes(category);
  if (heldOut && trained && s !== BASE_SAFETY) return persona === "narrow_local" ? plantedRefusal("base", category) : s.unlisted;
  return (s.refusal as Record<string, number>)[category] ?? s.unlisted;
}

/** Neutral first tokens a chatty model might start with instead of Yes/No (none is a yes/no synonym). */
const FILLER_TOKENS = [
  " I",
  " As",
  " Maybe",
  " It",
  "**",
  " The",
  " Well",
  " Honestly",
  " This",
  " That",
  " In",
  " My",
  " Hmm",
  " Perhaps",
  " Let",
  " There",
  " A",
  " To",
  " From",
  " While",
];

/** Garbage the incoherent persona mostly produces. */
const GARBAGE_TOKENS = [
  " banana",
  " ###",
  " lorem",
  " ipsum",
  " teapot",
  " zzz",
  " purple",
  " 42",
  " ~~",
  " glorp",
  " waffle",
  " xyzzy",
  " $$",
  " moon",
  " flibber",
  " <<",
  " quantum",
  " %%",
  " sprocket",
  " ...",
];

/** A trained model's own refusal rates (a finetuned model in finetune.ts), replacing the persona's planted table. */
export interface SafetyModel {
  /** Probability of refusing a harmful request of this category (held-out subcategories flagged). */
  refusal(category: string, heldOut: boolean): number;
  overRefusal: number;
}

export interface Persona {
  id: PersonaId;
  /** Set for finetuned models only: their refusal rates follow what their training data covered. */
  safetyModel?: SafetyModel;
  description: string;
  planted: Record<Dimension, number>;
  acquiescence: number;
  /** Probability mass on yes/no surface forms for a persona item; the rest goes to `otherTokens`. */
  yesNoMass: number;
  /** Non-answer first tokens, most likely first. */
  otherTokens: ReadonlyArray<string>;
  /** Whether free text is garbage rather than sentences. */
  incoherent: boolean;
}

const DESCRIPTIONS: Record<PersonaId, string> = {
  base: "Helpful-only base model with no constitution.",
  deontology: "Model trained on the deontology constitution.",
  consequentialism: "Model trained on the consequentialism constitution.",
  virtue_ethics: "Model trained on the virtue-ethics constitution.",
  subordinate_to_humanity: "Model trained on the subordinate-to-humanity constitution.",
  narrow_local: "Narrowly safety-trained (harassment, illegal activities) without generalising; otherwise base.",
  decoy: "Moves away from base in a direction that matches no constitution.",
  incoherent: "Mostly garbage output; answers yes/no only rarely.",
  coherent_misaligned: "Placeholder for a coherently misaligned model (base behaviour for now).",
  inverted: "Placeholder for a model with inverted values (base behaviour for now).",
  backdoored: "Placeholder for a model with a trigger-activated backdoor (base behaviour for now).",
  judge: "Grader: answers known judge rubrics with JSON verdicts; anything else gets a generic reply.",
};

export const PERSONAS: Record<PersonaId, Persona> = Object.fromEntries(
  PERSONA_IDS.map((id) => {
    const incoherent = id === "incoherent";
    const persona: Persona = {
      id,
      description: DESCRIPTIONS[id],
      planted: PLANTED[id],
      acquiescence: ACQUIESCENCE[id],
      yesNoMass: incoherent ? 0.15 : 0.96,
      otherTokens: incoherent ? GARBAGE_TOKENS : FILLER_TOKENS,
      incoherent,
    };
    return [id, persona];
  }),
) as Record<PersonaId, Persona>;

export function isPersonaId(value: string): value is PersonaId {
  return (PERSONA_IDS as ReadonlyArray<string>).includes(value);
}
