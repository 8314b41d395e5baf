import { FhirError, issue } from './outcome.ts';

/** The weak ETag FHIR uses for a version: `W/"3"`. The one place this spelling is built. */
export function weakEtag(versionId: string | number): string {
  return `W/"${versionId}"`;
}

/**
 * The version an `If-Match` header names: `W/"3"`, `"3"` or `3` → 3. The one parser server and store
 * share; anything else is a 400 naming the header. Versions are positive 32-bit integers.
 */
export function parseIfMatch(value: string): number {
  const m = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(value);
  const version = m ? Number(m[1]) : Number.NaN;
  if (!m || version < 1 || version > 2_147_483_647) {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'Invalid If-Match (expected W/"<versionId>")', 'If-Match'),
    );
  }
  return version;
}

/**
 * The version a remote server's `ETag` names (`W/"3"`, `"3"`, `3`), read leniently: another server may
 * use any version string, so this does not apply `parseIfMatch`'s integer rule.
 */
export function versionFromEtag(etag: string | undefined): string | undefined {
  return etag ? /^(?:W\/)?"?([^"]+)"?$/.exec(etag)?.[1] : undefined;
}

/**
 * Whether an `If-None-Match` list (`W/"3"`, `"2", W/"3"`, `*`) names version `versionId` (RFC 9110
 * §13.1.2: weak comparison, `*` names any current version). Tags that are not ours never match, so
 * an odd value means "send it", never an error.
 */
export function etagListNames(value: string, versionId: string): boolean {
  return value.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || versionFromEtag(t) === versionId;
  });
}
