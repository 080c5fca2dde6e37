/** @module Simulated model personas and the values the simulator plants (a stand-in for real models, never a result). */

export const PERSONA_IDS = [
  "base",
  "deontology",
  "consequentialism",
  "virtue_ethics",
  "subordinate_to_humanity",
  "decoy",
  "incoherent",
] as const;

export type PersonaId = (typeof PERSONA_IDS)[number];

export const DIMENSIONS = ["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"] as const;

export type Dimension = (typeof DIMENSIONS)[number];

/**
 * Population match rate per persona and dimension: the probability of the answer that matches the
 * dimension's behaviour, averaged over items. Deliberately not the constitutions' signature weights
 * (different magnitudes), so recovering them is not circular.
 */
export const PLANTED: Record<PersonaId, Record<Dimension, number>> = {
  base: { deontology: 0.55, utilitarianism: 0.45, virtue_ethics: 0.6, deference_to_authority: 0.5 },
  deontology: { deontology: 0.77, utilitarianism: 0.36, virtue_ethics: 0.66, deference_to_authority: 0.53 },
  consequentialism: { deontology: 0.41, utilitarianism: 0.7, virtue_ethics: 0.57, deference_to_authority: 0.52 },
  virtue_ethics: { deontology: 0.57, utilitarianism: 0.4, virtue_ethics: 0.82, deference_to_authority: 0.48 },
  subordinate_to_humanity: { deontology: 0.53, utilitarianism: 0.52, virtue_ethics: 0.61, deference_to_authority: 0.76 },
  decoy: { deontology: 0.46, utilitarianism: 0.49, virtue_ethics: 0.47, deference_to_authority: 0.41 },
  incoherent: { deontology: 0.5, utilitarianism: 0.5, virtue_ethics: 0.5, deference_to_authority: 0.5 },
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
};

/** Neutral first tokens a chatty model might start with instead of Yes/No (none is a yes/no synonym). */
const FILLER_TOKENS = [
  " I", " As", " Maybe", " It", "**", " The", " Well", " Honestly", " This", " That",
  " In", " My", " Hmm", " Perhaps", " Let", " There", " A", " To", " From", " While",
];

/** Garbage the incoherent persona mostly produces. */
const GARBAGE_TOKENS = [
  " banana", " ###", " lorem", " ipsum", " teapot", " zzz", " purple", " 42", " ~~", " glorp",
  " waffle", " xyzzy", " $$", " moon", " flibber", " <<", " quantum", " %%", " sprocket", " ...",
];

export interface Persona {
  id: PersonaId;
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
  decoy: "Moves away from base in a direction that matches no constitution.",
  incoherent: "Mostly garbage output; answers yes/no only rarely.",
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
