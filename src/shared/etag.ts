import { FhirError, issue } from './outcome.ts';

/** The weak ETag FHIR uses for a version: `W/"3"`. The one place this spelling is built. */
export function weakEtag(versionId: string | number): string {
  return `W/"${versionId}"`;
}

/**
 * One entity tag naming a version (RFC 9110 §8.8.3, weak or strong): `W/"3"` or `"3"`. An If-Match
 * header and a Bundle entry's `request.ifMatch` carry exactly one: this server's updates are versioned,
 * so a list of tags or `*` ("any current version") names no version to check, and is refused.
 */
const ENTITY_TAG = /^\s*(?:W\/)?"([^"]*)"\s*$/;
/** A version number as it is (`3`): the store's own API takes it besides an entity tag. */
const BARE_VERSION = /^\s*(\S*)\s*$/;
/**
 * A version id as this server writes them: a positive integer in decimal, without leading zeros. The
 * one rule of its spelling, in an entity tag and in a URL (`_history/3`, `checkVersionId`): `05` names
 * no version written (an entity tag is compared as written, RFC 9110 §8.8.3.2), so it is never read as 5.
 */
export const VERSION_ID = /^[1-9]\d*$/;
/** The highest version: versions are positive 32-bit integers. */
const MAX_VERSION = 2_147_483_647;

/**
 * The version an If-Match names, the one parser server and store share: `W/"3"` or `"3"` → 3; with
 * `header: false` (the store's API, whose callers hand over a versionId) also `3`. Anything else — a
 * bare number in a header, `W/3`, an unbalanced quote, a list, `*`, version 0, a leading zero (`W/"05"`)
 * or past 2^31-1 — is a 400 naming the If-Match header (a Bundle entry reports it at its
 * `request.ifMatch`).
 */
export function parseIfMatch(value: string, { header = false }: { header?: boolean } = {}): number {
  const m = ENTITY_TAG.exec(value) ?? (header ? null : BARE_VERSION.exec(value));
  const version = m && VERSION_ID.test(m[1] as string) ? Number(m[1]) : Number.NaN;
  if (!(version <= MAX_VERSION)) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        'If-Match must be one entity tag naming a version, W/"<versionId>" (or "<versionId>")',
        'If-Match',
      ),
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
