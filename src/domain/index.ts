/**
 * Domain model of Finnish work-ability support (*työkyvyn tuki*): types, JSON Schemas, runtime
 * validation and the business rules.
 */
export * from './codes.ts';
export { calendarDay, dayBefore, finnishDay, finnishDayOf, finnishDayStart } from './rules/calendar.ts';
export * from './rules/consent.ts';
export * from './rules/eligibility.ts';
export * from './rules/handover.ts';
export * from './rules/hetu.ts';
export * from './rules/identifier.ts';
export * from './rules/links.ts';
export * from './rules/plan.ts';
export * from './rules/recommended-actions.ts';
export * from './rules/referral.ts';
export * from './rules/work-ability-score.ts';
export * from './schemas.ts';
export type * from './types.ts';
export {
  checkDomainKind,
  DOMAIN_KINDS,
  DomainValidationError,
  domainIssues,
  KIND_LABEL,
  recordIssues,
  SCHEMAS,
  validateDomain,
  validateHandoverRequest,
  validateRecord,
} from './validate.ts';
