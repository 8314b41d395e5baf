/** Domain ⇄ FHIR mapping driven by the tables in mappings/. */
export { transactionBundle } from './bundle.ts';
export { DomainBuilder, RecordBuilder, workAbility } from './builders.ts';
export { changeRefusal, changeRuleOf } from './change-rules.ts';
export { consentForDisclosure } from './consent-reader.ts';
export {
  canonical,
  FINISHED_RESPONSE_STATUSES,
  type FhirKind,
  profileUrl,
  SELF_ASSESSMENT_QUESTIONNAIRE,
} from './config.ts';
export {
  type DomainObject,
  type FromFhirOptions,
  fromFhir,
  fromFhirAny,
  fromFhirObject,
  kindOf,
  type ObjectBundle,
  type RecordBundle,
  type ScoreReading,
} from './from-fhir.ts';
export {
  businessUuid,
  differentClients,
  carriedUuid,
  derivedBusinessId,
  fullUrl,
  type IdentityOptions,
  idIdentifier,
  localIdOf,
  localIdSystem,
  type HeldAloneIdentifier,
  identifiersHeldAlone,
} from './identity.ts';
export { DEFAULT_APPLICATION, type MappingOptions } from './options.ts';
export { followUpScoreSearch } from './queries.ts';
export { type FoundRelated, relatedFromFhir } from './related.ts';
export { codeFrom, concept, display, type Language } from './terminology.ts';
export { toFhir, toResources } from './to-fhir.ts';
export {
  hasNonDisclosure,
  isRestricted,
  isRestrictedLabel,
  KANTA_RESTRICTED_LABEL,
  REDACTED_LABEL,
  RESTRICTED_LABEL,
  redactNonDisclosed,
  redactPatient,
} from './non-disclosure.ts';
