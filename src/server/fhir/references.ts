// References on the write path: where they are in a resource, and the rule that a literal reference
// to a resource this server stores must point at one that exists (the delete path's 409 keeps the
// other direction: a resource still referenced is not deleted).
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import {
  bundleEntryReferenceIssue,
  conditionalParts,
  eachReference,
  namesBundleEntry,
  relativeReference,
  underBaseUrl,
} from '../../shared/references.ts';
import { type ReferenceTarget, requireTargets } from '../../store/index.ts';
import type { StoreWrites } from '../ports.ts';
import { isSupportedType } from '../resource-types.ts';

/** Every Reference.reference inside `value` with the FHIRPath of its Reference (`subject`, `goal[0]`). */
export function referencePaths(value: unknown, path: string): Array<{ path: string; ref: string }> {
  const out: Array<{ path: string; ref: string }> = [];
  eachReference(value, (ref, _holder, at) => out.push({ path: at, ref }), path);
  return out;
}

/**
 * The `Type/id` (or `Type/id/_history/v`) a reference names on this server: relative (`Patient/1`,
 * `Patient/1/_history/2`) or absolute under `base`, of a type this server stores. Contained (`#…`),
 * `urn:` and other servers' references, conditional and logical ones name nothing here.
 */
export function localTarget(ref: string, base: string): string | undefined {
  const r = relativeReference(underBaseUrl(ref, base) ?? ref);
  if (!r || !isSupportedType(r.type)) return undefined;
  return r.version === undefined ? `${r.type}/${r.id}` : `${r.type}/${r.id}/_history/${r.version}`;
}

/** What a literal reference to a type starts with (`Patient/`): the type. */
const TYPE_PREFIX = /^([A-Z][A-Za-z]{1,63})\//;

/**
 * The type a reference starts naming (`Patient/…`, relative or under `base`) when that type is stored
 * here but the rest is not an id (`Patient/PATIENT_ID`, `Patient/1/_history/x_y`): undefined for
 * anything else. Such a reference names no stored resource, whatever is stored.
 */
function malformedLocal(ref: string, base: string): string | undefined {
  const rest = underBaseUrl(ref, base) ?? ref;
  const type = TYPE_PREFIX.exec(rest)?.[1];
  return type && isSupportedType(type) && !relativeReference(rest) ? type : undefined;
}

/** `store-ref-1` for a reference at `path` of the form `Type/…` whose id is not one; the reference is not quoted. */
function malformedReferenceIssue(type: string, path: string): OperationOutcomeIssue {
  return issue(
    'error',
    'invalid',
    `store-ref-1: a reference to a ${type} here is ${type}/[id] (or ${type}/[id]/_history/[vid]), an id being 1 to 64 letters, digits, '-' and '.'; this one names no stored resource`,
    path,
  );
}

/** A conditional reference, `Type?criteria`: relative, or absolute under this server's base. */
/**
 * A conditional reference with criteria (`conditionalParts`), relative or absolute under this server's
 * base; `Patient?` names no criteria to resolve by, and is judged as any malformed reference.
 */
export function conditionalReference(
  ref: string,
  base: string,
): { type: string; criteria: string } | undefined {
  const parts = conditionalParts(underBaseUrl(ref, base) ?? ref);
  return parts?.criteria ? parts : undefined;
}

/**
 * `store-ref-1` for a conditional reference at `path` outside a transaction or batch: stored as
 * written it would name nothing the index, the delete rule or `$everything` follow. Not quoted: its
 * criteria usually carry an identifier, often a HETU.
 */
function conditionalReferenceIssue(path: string): OperationOutcomeIssue {
  return issue(
    'error',
    'invalid',
    'store-ref-1: a conditional reference (Type?criteria) is resolved only in a transaction or batch; outside one, a stored reference must name a stored resource (Type/id)',
    path,
  );
}

/**
 * Makes each reference of `resource` under this server's base relative, in place (`<base>/Patient/1`
 * → `Patient/1`): the store takes an absolute URL for another server's, so a write keeps one naming a
 * resource here in the form it is indexed, searched and kept whole by.
 */
export function localizeReferences(resource: unknown, base: string): void {
  eachReference(resource, (ref, holder) => {
    const local = underBaseUrl(ref, base) === undefined ? undefined : localTarget(ref, base);
    if (local) holder.reference = local;
  });
}

/**
 * The references of `resource` that must name stored resources, at their paths under `path`;
 * `store-ref-1` (422 naming each) for one still naming a Bundle entry, which nothing stored answers (a
 * transaction has rewritten those of its own entries by now, and a batch's entries may not depend on
 * each other), for a conditional reference (a transaction or batch has resolved its own by now), and for
 * one to a type stored here whose id is not an id (`Patient/PATIENT_ID`).
 */
export function targetsOf(resource: unknown, base: string, path: string): ReferenceTarget[] {
  const refs = referencePaths(resource, path);
  const refused = refs.flatMap(({ path: at, ref }) => {
    if (namesBundleEntry(ref)) return [bundleEntryReferenceIssue(at)];
    if (conditionalReference(ref, base)) return [conditionalReferenceIssue(at)];
    const type = malformedLocal(ref, base);
    return type ? [malformedReferenceIssue(type, at)] : [];
  });
  if (refused.length) throw new FhirError(422, refused);
  return refs.flatMap(({ path: at, ref }) => {
    const target = localTarget(ref, base);
    return target ? [{ ref: target, path: at }] : [];
  });
}

/**
 * `store-ref-1` for writes already made: each literal reference to a type this server stores names a
 * resource that exists here (not deleted). A single create or update hands its targets to the store,
 * which checks them with the write; a transaction, whose entries may name each other, checks all its
 * entries here once they are written (`items`: each resource and the FHIRPath it is reported at),
 * and `$validate` asks the same question without writing.
 */
export async function assertTargetsExist(
  store: Pick<StoreWrites, 'absent'>,
  base: string,
  items: ReadonlyArray<{ resource: unknown; path: string }>,
): Promise<void> {
  const wanted = items.flatMap(({ resource, path }) => targetsOf(resource, base, path));
  await requireTargets(wanted, (refs) => store.absent(refs));
}
