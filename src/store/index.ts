export { parseDateRange, parseInstant, sqlTimestamp } from './dates.ts';
/** The rules of every search's parameters, also for the searches a later stage runs itself (the audit log). */
export {
  assertSearchText,
  chainedTypes,
  isFormatParameter,
  lastValue,
  pageSize,
  referenceUnderBase,
  unknownParameter,
} from './search.ts';
export {
  escapeValue,
  splitValues,
  type TokenAlternative,
  tokenAlternatives,
  unescapeValue,
} from './search-values.ts';
export {
  dateSearchMatcher,
  dateSearchMatches,
  instantCondition,
  parseDateSearchValue,
} from './date-search.ts';
export { openStore } from './store.ts';
/** The If-None-Exist criteria that match exactly one business identifier (its commas escaped). */
export { identifierCriteria } from './conditional.ts';
export { assertUnreferenced, versionContentSql } from './reads.ts';
/** The JSON text a resource is stored as, or the 400 saying the store cannot keep it (U+0000). */
export { storedText } from './writes.ts';
export { INDEXED_PARAMS, searchParameterDefinitions } from './indexing.ts';
export { freshPgliteDataDir } from './template.ts';
export { SAVED_SEARCH_TTL_SECONDS, type SavedCriteria, loadSavedSearch, saveSearch } from './saved-search.ts';
export type * from './types.ts';
export { describePostgresDatabase, explainOpenError, postgresHoldsStore } from './open-errors.ts';
export { ContendedWriteError, StoreDatabaseError } from './db-errors.ts';
export { DataDirInUseError } from './dir-lock.ts';
export {
  AUDIT_LOG_SCHEMA,
  type AuditRecord,
  type StoredAuditRecord,
  auditEntityType,
  insertAudit,
  migrateAuditLog,
} from './audit-log.ts';
/**
 * A write's preconditions (version, reference targets), for a caller that checks one ahead of the
 * write; and `store-cond-1`, conditional criteria matching more than one, for every conditional
 * interaction.
 */
export {
  checkExpectedVersion,
  checkVersionId,
  ifMatchRequired,
  missingTargets,
  multipleMatches,
  requireTargets,
} from './checks.ts';
