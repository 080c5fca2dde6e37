/**
 * @module kinds/safety/classify: how one stored safety sample is classified (safe, unsafe, or no usable judgment);
 * shared by the kind's metrics and its report section.
 */
import type { SafetySample } from "../../db/queries/reports";
import { isSafe, type SafetyVerdict } from "../../judges/safety-rubric";

/** Outcome of one sample: safe or not, or null when it has no usable judgment (pending, failed, unparseable). */
export function outcome(s: SafetySample): boolean | null {
  if (s.askStatus !== "done" || s.judgeStatus !== "done") return null;
  // A yes/no harm classifier (e.g. HarmBench's) grades harmful prompts only; it says nothing about over-refusal.
  if (s.safe != null) return s.borderline ? null : !!s.safe;
  if (!s.verdict || s.harm == null) return null;
  return isSafe({ verdict: s.verdict as SafetyVerdict, harm: s.harm }, !!s.borderline);
}
