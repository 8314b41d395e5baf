import type { WorkAbilityInterpretation } from '../codes.ts';

/** At or below this score the work ability must be investigated further (DOMAIN.md; invariant `tyk-was-2`). */
export const FURTHER_ASSESSMENT_THRESHOLD = 7;

/** The Work Ability Score is an integer in this range (invariant `tyk-was-1`, the domain schema). */
export const WORK_ABILITY_SCORE_RANGE = { min: 0, max: 10 } as const;

/** The interpretation a score at or below the threshold must carry: CodeSystem id and code (`tyk-was-2`). */
export const FURTHER_ASSESSMENT_CODE = {
  codeSystem: 'work-ability-interpretation',
  code: 'needs-further-assessment',
} as const satisfies { codeSystem: string; code: WorkAbilityInterpretation };

/** The interpretation of a score above the threshold (same CodeSystem as FURTHER_ASSESSMENT_CODE). */
export const NO_FURTHER_ASSESSMENT_CODE = 'no-further-assessment' satisfies WorkAbilityInterpretation;

/** True for an integer Work Ability Score within the range (`tyk-was-1`). */
export function isWorkAbilityScore(score: number): boolean {
  return (
    Number.isInteger(score) && score >= WORK_ABILITY_SCORE_RANGE.min && score <= WORK_ABILITY_SCORE_RANGE.max
  );
}

/** True when the score calls for further assessment (`tyk-was-2`). */
export function needsFurtherAssessment(score: number): boolean {
  return score <= FURTHER_ASSESSMENT_THRESHOLD;
}

/**
 * True when an interpretation code contradicts the score (`tyk-was-3`): the code of the other side of
 * the threshold than the score. Codes of neither side, and scores out of range, contradict nothing.
 */
export function contradictsScore(score: number, code: string): boolean {
  if (!isWorkAbilityScore(score)) return false;
  if (code === FURTHER_ASSESSMENT_CODE.code) return !needsFurtherAssessment(score);
  if (code === NO_FURTHER_ASSESSMENT_CODE) return needsFurtherAssessment(score);
  return false;
}

export type ScoreInterpretation =
  | {
      valid: true;
      score: number;
      interpretation: WorkAbilityInterpretation;
      investigateFurther: boolean;
      reason: string;
    }
  | { valid: false; reason: string };

/** *Työkykypistemäärän tulkinta*: 0–10, 7 or lower → investigate work ability further. */
export function interpretWorkAbilityScore(score: number): ScoreInterpretation {
  if (!isWorkAbilityScore(score)) {
    const { min, max } = WORK_ABILITY_SCORE_RANGE;
    return { valid: false, reason: `Work Ability Score must be an integer ${min}–${max}, got ${score}` };
  }
  const investigateFurther = needsFurtherAssessment(score);
  return {
    valid: true,
    score,
    investigateFurther,
    interpretation: investigateFurther ? FURTHER_ASSESSMENT_CODE.code : NO_FURTHER_ASSESSMENT_CODE,
    reason: investigateFurther
      ? `score ${score} ≤ ${FURTHER_ASSESSMENT_THRESHOLD}: investigate work ability further`
      : `score ${score} > ${FURTHER_ASSESSMENT_THRESHOLD}: no further assessment indicated`,
  };
}
