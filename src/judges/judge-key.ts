/**
 * @module judges/judge-key: the identity that keys a judgment, `<endpoint id>@<revision>|<rubric version>` (stored in
 * `units.judge`). Built and parsed only here.
 */

export interface JudgeIdentity {
  endpointId: string;
  revision: string;
  rubricVersion: string;
}

/** The same parts under the name the rubric and agreement code uses. */
export type JudgeKeyParts = JudgeIdentity;

export function formatJudgeKey(j: JudgeIdentity): string {
  return `${j.endpointId}@${j.revision}|${j.rubricVersion}`;
}

/** The prefix every judgment of one judge endpoint at one revision shares, whatever the rubric version. */
export function judgeKeyPrefix(j: { endpointId: string; revision: string }): string {
  return `${j.endpointId}@${j.revision}|`;
}

/** The parts of a judge key, or null when it is not one. Endpoint ids hold no "@"; revisions hold no "|". */
export function parseJudgeKey(key: string | null | undefined): JudgeIdentity | null {
  if (!key) return null;
  const at = key.indexOf("@");
  const bar = key.indexOf("|", at + 1);
  if (at <= 0 || bar < 0 || bar === at + 1 || bar === key.length - 1) return null;
  return { endpointId: key.slice(0, at), revision: key.slice(at + 1, bar), rubricVersion: key.slice(bar + 1) };
}
