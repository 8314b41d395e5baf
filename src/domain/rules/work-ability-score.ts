import type { WorkAbilityInterpretation } from '../codes.ts';

/** At or below this score the work ability must be investigated further (DOMAIN.md; invariant `tyk-was-2`). */
export const FURTHER_ASSESSMENT_THRESHOLD = 7;

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
  if (!Number.isInteger(score) || score < 0 || score > 10) {
    return { valid: false, reason: `Work Ability Score must be an integer 0–10, got ${score}` };
  }
  const investigateFurther = score <= FURTHER_ASSESSMENT_THRESHOLD;
  return {
    valid: true,
    score,
    investigateFurther,
    interpretation: investigateFurther ? 'needs-further-assessment' : 'no-further-assessment',
    reason: investigateFurther
      ? `score ${score} ≤ ${FURTHER_ASSESSMENT_THRESHOLD}: investigate work ability further`
      : `score ${score} > ${FURTHER_ASSESSMENT_THRESHOLD}: no further assessment indicated`,
  };
}
