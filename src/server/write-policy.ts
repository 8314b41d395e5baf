import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, hasErrors, issue, outcome } from '../shared/outcome.ts';
import { isFhirId } from '../shared/references.ts';
import { STORE_WRITE_CHECKS } from '../shared/store-write-checks.ts';
import { strictProfileRule } from '../validation/index.ts';
import type { FacadeValidator } from './ports.ts';

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
  const rule = strictProfileRule(validator.registry, strict);
  const profiles = rule.profiles;
  const check = (resource: Resource, opts?: { profile?: string }): OperationOutcome => {
    const issues: OperationOutcomeIssue[] = [];
    const refused = rule.check(resource);
    if (refused) issues.push(refused);
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

/**
 * Shape checks every incoming resource gets before validation: an object of the type in the URL, with
 * a well-formed id (the URL's, for a PUT). A refusal names the element and the rule, never what was
 * sent: a resourceType that is not the URL's may be anything, so it is located at the bare
 * `resourceType` (the sent resource's own element; in a Bundle entry `inEntry` makes it
 * `Bundle.entry[i].resource.resourceType`), and the ids are not quoted.
 */
export function assertResourceShape(body: unknown, expectedType: string, expectedId?: string): Resource {
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
  if (r.resourceType !== expectedType) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `resourceType does not match the type in the URL (${expectedType})`,
        'resourceType',
      ),
    );
  }
  if (r.id !== undefined && !isFhirId(r.id)) {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'Invalid resource id (1-64 of A-Z a-z 0-9 - .)', `${expectedType}.id`),
    );
  }
  if (expectedId !== undefined && r.id !== expectedId) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        r.id === undefined
          ? 'Resource id is missing; PUT requires it to equal the id in the URL'
          : 'Resource id does not match the id in the URL',
        `${expectedType}.id`,
      ),
    );
  }
  return r;
}

/** 400 for an id in the URL that is not an id; the id sent is not quoted. */
export function assertValidId(id: string, type: string): void {
  if (!isFhirId(id)) {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'Invalid id in the URL (1-64 of A-Z a-z 0-9 - .)', `${type}.id`),
    );
  }
}
