import type {
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { FhirError, hasErrors, issue, outcome } from '../shared/outcome.ts';
import { readProjectJson } from '../shared/project-files.ts';
import { isFhirId } from '../shared/references.ts';
import { STORE_WRITE_CHECKS } from '../shared/store-write-checks.ts';
import type { FacadeValidator } from './ports.ts';

const FALLBACK_CANONICAL = 'https://tyokyky-fhir.org/fhir';

/** Our canonical base, read from the committed IG package as DEVELOPERS.md prescribes. */
export function projectCanonical(): string {
  try {
    const pkg = readProjectJson<{ canonical?: string }>('profiles/package/package.json');
    return pkg.canonical ?? FALLBACK_CANONICAL;
  } catch {
    return FALLBACK_CANONICAL;
  }
}

/** Our resource profiles per resource type, as loaded by the validator from profiles/package. */
export function ourProfiles(validator: FacadeValidator): Map<string, string[]> {
  const prefix = `${projectCanonical()}/StructureDefinition/`;
  const byType = new Map<string, string[]>();
  // The registry's index lists every StructureDefinition without parsing one (parsing all of R4
  // core here cost about 2 s and 70 MB at startup); any other registry is read in full. A package's
  // index may leave `derivation` out: only a specialization is excluded.
  const registry = validator.registry as FacadeValidator['registry'] & {
    structureDefinitionInfo?: () => Array<Pick<StructureDefinition, 'url' | 'type' | 'kind' | 'derivation'>>;
  };
  const infos =
    registry.structureDefinitionInfo?.() ?? registry.all<StructureDefinition>('StructureDefinition');
  for (const sd of infos) {
    if (!sd.url?.startsWith(prefix) || sd.kind !== 'resource' || sd.derivation === 'specialization') continue;
    const list = byType.get(sd.type) ?? [];
    list.push(sd.url);
    byType.set(sd.type, list);
  }
  return byType;
}

export interface WritePolicy {
  /** Issues for a resource about to be written; an error among them means 422. */
  check(resource: Resource, opts?: { profile?: string }): OperationOutcome;
  /** Throws a 422 FhirError when `check` finds an error. */
  enforce(resource: Resource): void;
  readonly profiles: Map<string, string[]>;
  /** The conformance resources the validator holds (element flags for _summary). */
  readonly definitions: FacadeValidator['registry'];
}

/**
 * Kanta PHR-style write validation: the validator applies the profiles in `meta.profile`; in strict
 * mode a resource of one of our families must also declare one of our profiles.
 */
export function createWritePolicy(validator: FacadeValidator, strict: boolean): WritePolicy {
  const profiles = ourProfiles(validator);
  const check = (resource: Resource, opts?: { profile?: string }): OperationOutcome => {
    const issues: OperationOutcomeIssue[] = [];
    // A malformed meta.profile (not a list of strings) declares nothing; the validator names it.
    const profile: unknown = resource.meta?.profile;
    const declared = Array.isArray(profile) ? profile : [];
    const ours = profiles.get(resource.resourceType) ?? [];
    // "Our families" are exactly the types our package profiles.
    // A declared version must be the one held: another version would not be checked at all.
    const isOurs = (p: unknown) =>
      typeof p === 'string' && ours.includes(p.split('|')[0] as string) && validator.registry.holdsVersion(p);
    if (strict && ours.length && !declared.some(isOurs)) {
      issues.push(
        issue(
          'error',
          'required',
          `strict-profile: in strict mode a ${resource.resourceType} must declare one of our profiles in meta.profile (${ours.join(', ')})`,
          `${resource.resourceType}.meta.profile`,
        ),
      );
    }
    const validated = validator.validate(resource, {
      ...STORE_WRITE_CHECKS,
      ...(opts?.profile ? { profile: opts.profile } : {}),
    });
    // A loop, not push(...spread): a hostile body can produce hundreds of thousands of issues.
    for (const i of validated.issue ?? []) {
      if (i.code !== 'informational' || i.severity !== 'information') issues.push(i);
    }
    return outcome(issues);
  };
  return {
    profiles,
    definitions: validator.registry,
    check,
    enforce(resource) {
      const oo = check(resource);
      if (hasErrors(oo)) throw FhirError.unprocessable(oo);
    },
  };
}

/** Shape checks every incoming resource gets before validation: an object with the expected type and id. */
export function assertResourceShape(body: unknown, expectedType?: string, expectedId?: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FhirError(
      400,
      issue('error', 'structure', 'Request body must be a FHIR resource (a JSON object)'),
    );
  }
  const r = body as Resource;
  if (typeof r.resourceType !== 'string') {
    throw new FhirError(400, issue('error', 'required', 'Resource has no resourceType', 'resourceType'));
  }
  if (expectedType && r.resourceType !== expectedType) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `resourceType "${r.resourceType}" does not match the type in the URL ("${expectedType}")`,
        `${r.resourceType}.resourceType`,
      ),
    );
  }
  if (r.id !== undefined && !isFhirId(r.id)) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `Invalid resource id "${String(r.id)}" (1-64 of A-Z a-z 0-9 - .)`,
        `${r.resourceType}.id`,
      ),
    );
  }
  if (expectedId !== undefined && r.id !== expectedId) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        r.id === undefined
          ? `Resource id is missing; PUT requires it to equal the id in the URL ("${expectedId}")`
          : `Resource id "${r.id}" does not match the id in the URL ("${expectedId}")`,
        `${r.resourceType}.id`,
      ),
    );
  }
  return r;
}

export function assertValidId(id: string, type: string): void {
  if (!isFhirId(id)) {
    throw new FhirError(
      400,
      issue('error', 'invalid', `Invalid id "${id}" in the URL (1-64 of A-Z a-z 0-9 - .)`, `${type}.id`),
    );
  }
}
