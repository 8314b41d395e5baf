// What a reference names, and the one walk over a resource's references: every `reference` string in plain FHIR JSON, at any
// depth (contained resources and extensions included), with the object that holds it.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from './outcome.ts';

/** Called with a reference string, the Reference object holding it and, when asked for, its FHIRPath. */
export type ReferenceVisit = (ref: string, holder: Record<string, unknown>, path: string) => void;

/**
 * Visits every `reference` string inside `value`. With `path` (e.g. `Observation`), each visit gets
 * the FHIRPath of its Reference (`Observation.subject`, `CarePlan.goal[0]`); without it, '' (and no
 * path strings are built).
 */
export function eachReference(value: unknown, visit: ReferenceVisit, path?: string): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      eachReference(value[i], visit, path === undefined ? undefined : `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      const v = obj[k];
      if (k === 'reference' && typeof v === 'string') visit(v, obj, path ?? '');
      else if (v !== null && typeof v === 'object')
        eachReference(v, visit, path === undefined ? undefined : `${path}.${k}`);
    }
  }
}

/**
 * What follows `base` in `url`, without its leading `/` (`Patient/1?x` for `<base>/Patient/1?x`, '' for
 * the base itself); undefined when `url` is not under `base` (another base, or one that only starts
 * with its text, as `<base>x/…`).
 */
export function underBaseUrl(url: string, base: string): string | undefined {
  if (!url.startsWith(base)) return undefined;
  const rest = url.slice(base.length);
  return /^(?:$|[/?])/.test(rest) ? rest.replace(/^\//, '') : undefined;
}

/** A URL scheme: a URL (or URN) that has one is absolute. */
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Whether `url` is absolute (has a scheme: `https:`, `urn:`…). */
export function isAbsoluteUrl(url: string): boolean {
  return ABSOLUTE_URL.test(url);
}

/**
 * A Bundle entry's request.url relative to the FHIR base, without a leading `/`. An absolute URL under
 * this server's own base (the one its answers' fullUrls carry, which clients send back) is taken as
 * the rest of it; under any other base it names nothing here (undefined). The Bundle handler runs
 * entries by this reading and the security front checks them by it.
 */
export function requestUrlUnderBase(url: string, base: string): string | undefined {
  return isAbsoluteUrl(url) ? underBaseUrl(url, base) : url.replace(/^\//, '');
}

/** A FHIR id (R4 `id`: letters, digits, '-' and '.', 1 to 64 of them); versionIds are ids too. */
const ID = '[A-Za-z0-9\\-.]{1,64}';
const FHIR_ID = new RegExp(`^${ID}$`);

/** Whether `value` is a FHIR id (a resource's id or a versionId). */
export function isFhirId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID.test(value);
}

const RELATIVE = new RegExp(`^([A-Z][A-Za-z]{1,63})\\/(${ID})(?:\\/_history\\/(${ID}))?$`);

/** A relative literal reference `Type/id` or `Type/id/_history/v`, parsed; undefined for any other text. */
export function relativeReference(ref: string): { type: string; id: string; version?: string } | undefined {
  const m = RELATIVE.exec(ref);
  if (!m) return undefined;
  const [, type, id, version] = m as unknown as [string, string, string, string | undefined];
  return version === undefined ? { type, id } : { type, id, version };
}

/** `Patient/<id>` of a relative reference to a Patient, any version in it dropped; undefined for any other. */
export function patientOfReference(ref: string | undefined): string | undefined {
  const parsed = ref === undefined ? undefined : relativeReference(ref);
  return parsed?.type === 'Patient' ? `Patient/${parsed.id}` : undefined;
}

/**
 * `Patient/<id>` of a reference to a Patient, any version in it dropped: a relative one (patientOfReference),
 * or — when `base` is given — an absolute one under that base only (`<base>/Patient/<id>`, a trailing
 * `/` of `base` ignored). An absolute URL under any other base names another server's Patient, whatever
 * id it ends with: undefined, as for anything else (a value that is no string included).
 */
export function patientOfReferenceUnder(ref: unknown, base?: string): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const under = base ? underBaseUrl(ref, base.replace(/\/+$/, '')) : undefined;
  return patientOfReference(under ?? ref);
}

/**
 * The client a resource belongs to, as `Patient/<id>`: a Patient itself, else its `patient` or
 * `subject` reference (patientOfReferenceUnder: relative, or absolute under `base` when it is given).
 * A versioned reference names the same client as a plain one, so audit rows, disclosure logs and
 * consent lookups all key on the unversioned form.
 */
export function patientReferenceOf(
  resource: {
    resourceType: string;
    id?: string;
  },
  base?: string,
): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id ? `Patient/${resource.id}` : undefined;
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
  return patientOfReferenceUnder(r.patient?.reference ?? r.subject?.reference, base);
}

/**
 * A UUID as R4's `uuid` (datatypes.html#uuid) writes it after `urn:uuid:`: lower-case hexadecimal,
 * 8-4-4-4-12 (a regular expression's source, unanchored) — the one statement of the format, which the
 * domain's schemas and the SDK's carried ids (`urn.uuid.<UUID>`) build theirs from.
 */
export const LOWER_CASE_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** R4's `uuid` (datatypes.html#uuid): `urn:uuid:` and a UUID in lower-case hexadecimal. */
const URN_UUID = new RegExp(`^urn:uuid:${LOWER_CASE_UUID}$`);

/**
 * Whether `value` is a `urn:uuid:` as R4 writes one (lower-case hexadecimal, 8-4-4-4-12): the one
 * statement of the format, for the validator (an invalid one is an error) and the SDK's reader (a
 * valid one names a Bundle entry, so an error may quote it).
 */
export function isUrnUuid(value: unknown): value is string {
  return typeof value === 'string' && URN_UUID.test(value);
}

const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?(.*)$/;

/**
 * The type and criteria of a relative conditional reference (`Patient?identifier=system|value`), which
 * only a transaction or batch resolves (http.html#trules); undefined for any other reference. The
 * criteria may be empty (`Patient?`): whoever resolves it judges that.
 */
export function conditionalParts(ref: string): { type: string; criteria: string } | undefined {
  const m = CONDITIONAL_REFERENCE.exec(ref);
  return m ? { type: m[1] as string, criteria: m[2] as string } : undefined;
}

const BUNDLE_ENTRY = /^urn:(uuid|oid):/;

/**
 * Whether `ref` names a Bundle entry by its fullUrl (`urn:uuid:`, `urn:oid:`): its Bundle resolves it,
 * and outside one nothing does, so a stored resource may not keep it.
 */
export function namesBundleEntry(ref: string): boolean {
  return BUNDLE_ENTRY.test(ref);
}

/** `store-ref-1` for a reference at `path` that names a Bundle entry; the reference is not quoted (after `urn:oid:` a sender may have written anything). */
export function bundleEntryReferenceIssue(path: string): OperationOutcomeIssue {
  return issue(
    'error',
    'not-found',
    'store-ref-1: the reference names a Bundle entry (urn:uuid:, urn:oid:), and no Bundle resolves it here; a stored reference must name a stored resource',
    path,
  );
}
