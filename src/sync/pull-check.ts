// What the pull stores: a remote resource is judged as a write to our facade would be (its declared
// profiles, R4, the store's own checks, strict-profile when the facade is strict), so a remote that does not enforce our profiles cannot put here
// what the facade would refuse. A refused resource is counted and logged by its issue codes only.
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, hasErrors } from '../shared/outcome.ts';
import { bundleEntryReferenceIssue, eachReference, namesBundleEntry } from '../shared/references.ts';
import { STORE_WRITE_CHECKS } from '../shared/store-write-checks.ts';
import { storedText } from '../store/index.ts';
import type { ProfileRegistry } from '../validation/index.ts';

/** What judging a pulled resource needs of a validator (the facade's, or the project's own). */
export interface PulledValidator {
  validate(resource: unknown, opts?: typeof STORE_WRITE_CHECKS): OperationOutcome;
  /** Our profiles, for strict-profile. */
  readonly registry: ProfileRegistry;
}

/** The refusal of a pulled resource, or undefined when the store may keep it. */
export type PulledCheck = (resource: Resource) => Promise<OperationOutcome | undefined>;

type Judge = (resource: Resource) => OperationOutcome;

/**
 * The check of pulled resources with `validator` (or the one it resolves to: a server loading its
 * own), or with the project's validator, loaded on the first pulled resource (a push-only service
 * never loads it). `strict`: strict-profile too, as the facade in strict mode judges a write.
 */
export function pulledCheck(
  validator?: PulledValidator | Promise<PulledValidator>,
  strict = false,
): PulledCheck {
  let judge: Promise<Judge> | undefined;
  return async (resource) => {
    judge ??= judgeWith(validator, strict);
    const outcome = (await judge)(resource);
    return hasErrors(outcome) ? outcome : (unresolvable(resource) ?? unstorable(resource));
  };
}

async function judgeWith(
  given: PulledValidator | Promise<PulledValidator> | undefined,
  strict: boolean,
): Promise<Judge> {
  const validation = await import('../validation/index.ts');
  const validator = await (given ?? validation.loadProjectValidator());
  const rule = validation.strictProfileRule(validator.registry, strict);
  return (resource) => {
    const validated = validator.validate(resource, STORE_WRITE_CHECKS);
    const refused = rule.check(resource);
    return refused ? { ...validated, issue: [refused, ...(validated.issue ?? [])] } : validated;
  };
}

/** `store-ref-1` for references to Bundle entries, which a write here refuses (nothing stored resolves them). */
function unresolvable(resource: Resource): OperationOutcome | undefined {
  const issues: OperationOutcomeIssue[] = [];
  eachReference(
    resource,
    (ref, _holder, path) => {
      if (namesBundleEntry(ref)) issues.push(bundleEntryReferenceIssue(path));
    },
    resource.resourceType,
  );
  return issues.length ? { resourceType: 'OperationOutcome', issue: issues } : undefined;
}

/**
 * The store's own refusal of `resource` (a string it cannot keep), judged before the pull's
 * transaction: inside it, one such resource would fail the whole page, and every later pull with it.
 */
function unstorable(resource: Resource): OperationOutcome | undefined {
  try {
    storedText(resource);
    return undefined;
  } catch (err) {
    if (err instanceof FhirError) return err.outcome;
    throw err;
  }
}
