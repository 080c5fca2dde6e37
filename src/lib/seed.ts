/** @module lib/seed: the seed a request may pin. 31-bit, as model APIs expect (the planner mixes it per sample). */
import { z } from "zod";

export const MAX_SEED = 2 ** 31 - 1;

/** A run's, an experiment's, a dataset's or a re-score's seed. */
export const SeedSchema = z.number().int().min(0).max(MAX_SEED);
