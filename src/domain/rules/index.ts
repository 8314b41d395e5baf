// The domain stage's light entry: the rules FHIR invariants share with the domain (HETU, Work Ability
// Score), without the schemas and ajv that `../index.ts` loads. The validator's native invariant paths
// import this, so a one-file `tyokyky validate` stays fast.
export { HETU_SYSTEM, checkHetuFormat } from './hetu.ts';
export { isGlobalIdentifier } from './identifier.ts';
export {
  FURTHER_ASSESSMENT_CODE,
  contradictsScore,
  isWorkAbilityScore,
  needsFurtherAssessment,
} from './work-ability-score.ts';
