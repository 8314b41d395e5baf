// The checks every store operation makes on types, ids and versions, and the errors they raise.
import type { Resource } from '@medplum/fhirtypes';
import { VERSION_ID } from '../shared/etag.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { isFhirId } from '../shared/references.ts';

export const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * 412/428: the version precondition, located at the resource's meta.versionId — or, for a request that
 * carries no resource (a delete), at its `If-Match` (in a Bundle entry, `request.ifMatch`).
 */
export function versionError(
  status: 412 | 428,
  diagnostics: string,
  type: string,
  at = `${type}.meta.versionId`,
): FhirError {
  const code = status === 428 ? 'required' : 'conflict';
  return new FhirError(status, issue('error', code, diagnostics, at));
}

/** 428: an update without If-Match (this store's updates are versioned). */
export function ifMatchRequired(type: string, id: string): FhirError {
  return versionError(428, `If-Match is required to update ${type}/${id}`, type);
}

/**
 * `store-ref-1` for one write: 422 naming every target `absent` reports (it answers which of the
 * `Type/id`s it is given name no current resource, or none the caller may see).
 */
export async function requireTargets(
  targets: ReadonlyArray<{ ref: string; path: string }>,
  absent: (refs: string[]) => Promise<Iterable<string>>,
): Promise<void> {
  if (!targets.length) return;
  const gone = new Set(await absent([...new Set(targets.map((t) => t.ref))]));
  const missing = targets.filter((t) => gone.has(t.ref));
  if (missing.length) throw missingTargets(missing);
}

/** `store-ref-1`: 422 naming each reference whose target is not a current resource. */
export function missingTargets(missing: ReadonlyArray<{ ref: string; path: string }>): FhirError {
  return new FhirError(
    422,
    missing.map(({ ref, path }) =>
      issue(
        'error',
        'not-found',
        `store-ref-1: ${ref} does not exist here; a reference must name a stored resource`,
        path,
      ),
    ),
  );
}

/** `store-version-1`: 412 when an If-Match version was given and the stored one is another (`at`: see versionError). */
export function checkExpectedVersion(
  type: string,
  id: string,
  expected: number | undefined,
  current: number,
  at?: string,
): void {
  if (expected !== undefined && expected !== current) {
    throw versionError(
      412,
      `store-version-1: version conflict on ${type}/${id}: If-Match is ${expected} but the current version is ${current}`,
      type,
      at,
    );
  }
}

/**
 * `store-cond-1`: 412 when conditional criteria match more than one resource, so which one is meant
 * cannot be told. `what` names the conditional interaction (`conditional create`, `conditional
 * update`, `conditional reference`), `criteria` what carried its criteria in words, and `at` as an
 * expression (`If-None-Exist`, `Observation?identifier`, the reference's element). The criteria are
 * not quoted: they name an identifier, which may be a HETU.
 */
export function multipleMatches(what: string, type: string, criteria: string, at: string): FhirError {
  return new FhirError(
    412,
    issue(
      'error',
      'multiple-matches',
      `store-cond-1: ${what}: more than one ${type} matches ${criteria}`,
      at,
    ),
  );
}

export function checkResource(resource: Resource): string {
  const type = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== 'string' || !TYPE_RE.test(type)) {
    throw FhirError.badRequest(`Missing or invalid resourceType`, 'resourceType');
  }
  return type;
}

export function checkTypeAndId(type: string, id: string): void {
  if (!TYPE_RE.test(type)) throw FhirError.badRequest(`Invalid resource type '${type}'`, 'resourceType');
  if (!isFhirId(id)) {
    throw FhirError.badRequest('Invalid id (1-64 of A-Z a-z 0-9 - .)', `${type}.id`);
  }
}

/**
 * A version id as this store writes them (a positive integer), or a 400 at `Type.meta.versionId`;
 * the id is not quoted back (it is whatever the URL held).
 */
export function checkVersionId(type: string, versionId: string | number): number {
  // As written (`VERSION_ID`): `0x1`, `1e0`, ` 1` or `01` would read as 1 but name no version written.
  const version =
    typeof versionId === 'number' ? versionId : VERSION_ID.test(versionId) ? Number(versionId) : Number.NaN;
  if (!Number.isInteger(version) || version < 1)
    throw FhirError.badRequest(
      'Invalid version id (a positive integer, without leading zeros)',
      `${type}.meta.versionId`,
    );
  return version;
}

export function duplicateId(type: string, id: string): FhirError {
  return new FhirError(409, issue('error', 'duplicate', `${type}/${id} already exists`, `${type}.id`));
}
