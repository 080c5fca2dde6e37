/**
 * @module judges/judge-key: the judge identity that keys a judgment, `<judge endpoint id>@<revision>|<rubric version>`.
 * It is part of every judge unit's id, so each (answer, judge, rubric) triple is judged once.
 */

export interface JudgeKeyParts {
  endpointId: string;
  revision: string;
  rubricVersion: string;
}

export function formatJudgeKey(j: JudgeKeyParts): string {
  return `${j.endpointId}@${j.revision}|${j.rubricVersion}`;
}

/** The parts of a judge key, or null when the text is not one (no "@" before the first "|"). */
export function parseJudgeKey(key: string | null | undefined): JudgeKeyParts | null {
  if (!key) return null;
  const at = key.indexOf("@");
  const bar = key.indexOf("|", at + 1);
  if (at <= 0 || bar < 0) return null;
  return { endpointId: key.slice(0, at), revision: key.slice(at + 1, bar), rubricVersion: key.slice(bar + 1) };
}
