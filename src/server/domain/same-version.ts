import type { Identifier, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { type DomainKind, KIND_LABEL } from '../../domain/index.ts';
import { kindOf, localIdOf } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { DomainSource } from './fields.ts';

/** The store's stale If-Match on a transaction entry (checks.ts `checkExpectedVersion`, located in the entry). */
const STALE = /^Bundle\.entry\[(\d+)\]\.resource\.meta\.versionId$/;

/**
 * `same-version`: a new version is written over the version it was made from. Another write that
 * stored a version in between (read, then written by someone else, then this write) makes this one
 * a 409 in domain terms — the object's id field, never a Bundle path or an If-Match the caller did
 * not send — and nothing is written. With `source` (the object sent alone) its field and id are
 * named; in a record, the object the stale entry holds.
 */
export function changedMeanwhile(source: DomainSource | undefined, resource?: Resource): FhirError {
  const [field, what] = source
    ? [`${KIND_LABEL[source.kind]}.id`, `${KIND_LABEL[source.kind]} "${source.value.id}"`]
    : [KIND_LABEL.record, resource ? objectNamed(resource) : 'an object of this record'];
  return new FhirError(
    409,
    issue(
      'error',
      'conflict',
      `same-version: ${field}: ${what} was changed by another write after this request read it; nothing was written: read it again and send the change anew`,
      field,
    ),
  );
}

/** The store's refusal of a stale version in the transaction, told as `changedMeanwhile`; else undefined. */
export function staleVersion(
  err: FhirError,
  entries: readonly { resource?: Resource }[],
  source: DomainSource | undefined,
): FhirError | undefined {
  if (err.status !== 412) return undefined;
  const stale = (err.outcome.issue ?? []).find(
    (i: OperationOutcomeIssue) => i.code === 'conflict' && STALE.test(i.expression?.[0] ?? ''),
  );
  if (!stale) return undefined;
  const at = Number(STALE.exec(stale.expression![0]!)![1]);
  return changedMeanwhile(source, entries[at]?.resource);
}

/** A stored resource as the domain object it holds (`SupportPlan "suvi-plan"`), without client data. */
function objectNamed(resource: Resource): string {
  let kind: string;
  try {
    kind = kindOf(resource);
  } catch {
    return `the stored ${resource.resourceType}`;
  }
  const label = KIND_LABEL[kind as DomainKind] ?? kind[0]!.toUpperCase() + kind.slice(1);
  const ids = (resource as { identifier?: Identifier[] | Identifier }).identifier;
  const id = localIdOf(kind as never, Array.isArray(ids) ? ids : ids ? [ids] : []);
  return id === undefined ? label : `${label} "${id}"`;
}
