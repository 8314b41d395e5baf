// FHIR searches that the domain's rules ask for, each written once beside the rule it serves.
import { FURTHER_ASSESSMENT_THRESHOLD } from '../domain/index.ts';
import { MAP, codeSystemUrl } from './config.ts';

/**
 * The Work Ability Scores that call for a closer look at work ability (7 or lower, the rule of
 * `needsFurtherAssessment`), as search parameters for `Observation`:
 * `code=…/work-ability-observation|work-ability-score&value-integer=le7`, of one client with
 * `patient` (`Patient/{id}`). `value-integer` is our package's SearchParameter; the facade serves it,
 * and so does any server that loads the package.
 */
export function followUpScoreSearch(patient?: string): Record<string, string> {
  return {
    code: `${codeSystemUrl(MAP.observationCodes.codeSystem)}|${MAP.observationCodes.score}`,
    'value-integer': `le${FURTHER_ASSESSMENT_THRESHOLD}`,
    ...(patient ? { patient } : {}),
  };
}
