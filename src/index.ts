/**
 * `tyokyky-fhir` — the SDK: the domain model of Finnish work-ability support (types, JSON Schemas,
 * business rules) and its mapping to and from FHIR R4 resources that conform to our profiles.
 *
 * This entry loads no web server, database, FHIRPath engine or R4 definitions; those live behind
 * `tyokyky-fhir/validation`, `/store`, `/sync` and `/server`.
 */
export * from './domain/index.ts';
export * from './mapping/index.ts';
export { FhirError, hasErrors, issue, outcome } from './shared/outcome.ts';
